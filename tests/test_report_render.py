"""The study report as a browser shows and prints it: headless Chromium loads a report built from the committed
synthetic cohort (the study steps on tests/analytics/data/study_cohort.csv - no warehouse, no Dagster run) and
must log no console error, decode every image, keep every table and figure within an A4 page's width, take a
screenshot with something on it and print a PDF of more than one page. A deliberately broken image must fail the
same check, so the check can fail."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
                None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on PATH (Debian: apt-get install "
                                                         "chromium); the report's rendering is not checked")

COHORT = Path(__file__).parent / "analytics" / "data" / "study_cohort.csv"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-pdf-header-footer")
A4_CONTENT_WIDTH = "186mm"  # 210 mm less the print stylesheet's 12 mm margins

#: Injected first into <head>: records script errors and failed loads (an <img> whose data does not decode fires
#: `error`, which does not bubble: captured on window). At load it writes, into the DOM that --dump-dom prints,
#: every image's decoded size and every table, figure or image wider than the body (the print rules applied at
#: A4 width).
_PROBE = """<script>
window.__renderErrors = [];
window.addEventListener('error', e => window.__renderErrors.push(
  e.message || ('failed to load ' + (e.target && e.target.tagName) + ' ' + ((e.target && e.target.alt) || ''))), true);
window.addEventListener('load', () => {
  const body = document.body.getBoundingClientRect();
  const overflow = [...document.querySelectorAll('table, figure, img, pre, h1, h2, p')]
    .filter(el => el.getBoundingClientRect().right > body.right + 1)
    .map(el => el.tagName + ': ' + (el.alt || el.textContent).slice(0, 60));
  const images = [...document.images].map(img => ({alt: img.alt, complete: img.complete, width: img.naturalWidth,
                                                   height: img.naturalHeight}));
  const out = document.createElement('pre');
  out.id = 'render-check';
  out.textContent = JSON.stringify({images, errors: window.__renderErrors, overflow});
  document.body.appendChild(out);
});
</script>"""


@dataclass
class RenderCheck:
    console: list[str]
    errors: list[str]
    images: list[dict]
    overflow: list[str]

    @property
    def broken_images(self) -> list[str]:
        return [i["alt"] or "(no alt)" for i in self.images if not i["complete"] or i["width"] == 0]

    @property
    def problems(self) -> list[str]:
        return ([f"console: {m}" for m in self.console] + [f"error: {m}" for m in self.errors]
                + [f"broken image: {a}" for a in self.broken_images] + [f"wider than A4: {o}" for o in self.overflow])


def _chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout, check=False)


def check_render(report: Path, work: Path) -> RenderCheck:
    """Load `report` in headless Chromium at A4 width with its print rules applied and the probe injected: the
    console messages it logged (Chromium prints them to stderr as `CONSOLE`; the report has no script of its own,
    so any message is an error), script and load errors, each image's decoded size, and what runs past the body."""
    page = report.read_text(encoding="utf-8")
    page = page.replace("@media print{", "@media all{").replace(
        "<head>", f"<head>{_PROBE}<style>body{{width:{A4_CONTENT_WIDTH}!important}}</style>", 1)
    probe = work / f"probe_{report.name}"
    probe.write_text(page, encoding="utf-8")
    run = _chromium("--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
                    probe.as_uri())
    match = re.search(r'<pre id="render-check">(.*?)</pre>', run.stdout, re.S)
    assert match, f"Chromium printed no probe result (exit {run.returncode}): {run.stderr[-2000:]}"
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                       .replace("&amp;", "&"))
    console = re.findall(r":CONSOLE[^\]]*\] (.*)", run.stderr)
    return RenderCheck(console, found["errors"], found["images"], found["overflow"])


def screenshot(report: Path, out: Path, width: int = 1100, height: int = 2400) -> Path:
    _chromium(f"--window-size={width},{height}", f"--screenshot={out}", report.as_uri())
    return out


def print_pdf(report: Path, out: Path) -> Path:
    _chromium(f"--print-to-pdf={out}", report.as_uri())
    return out


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.fixture(scope="module")
def study_report(tmp_path_factory) -> Path:
    """The study report of the committed synthetic cohort: the steps that need only the cohort (flow, propensity,
    matching, balance, survival, Cox) run for real; the ones that need visits, adverse events or the aligned
    columns are recorded as not part of this test (the report then says so in their sections)."""
    from als_eca.study import steps
    from als_eca.study.report import write_study_report
    from als_eca.study.store import StepOutput
    from orchestration.analysis import STUDY_STEPS

    cohort = pd.read_csv(COHORT, dtype={"subject_id": str})
    cohort = cohort.assign(source=cohort["treated"].map({1: "PMS", 0: "PRO-ACT"}),
                           eligible=cohort["eligible"].astype(bool),
                           exclusion_reason=cohort["eligible"].map({True: None, False: "not eligible"}))
    eligible = cohort[cohort["eligible"]]
    matched = steps.matched_analysis(eligible)
    result = matched.objects["study_result"]
    outputs = {name: StepOutput.not_estimable_because("not part of the render test") for name in STUDY_STEPS}
    outputs.update(cohort_flow=steps.cohort_flow(cohort), propensity_scores=steps.propensity(eligible),
                   matched_cohort=matched, balance=steps.balance(result, cohort), survival=steps.survival(result),
                   cox_model=steps.cox(result))
    from als_eca.provenance import code_version, package_versions
    from als_eca.study.spec import load_study

    record = {"run_id": "render-test", "generated_at": "2026-01-01T00:00:00Z", "code": code_version(),
              "study": load_study().provenance(), "pms_export": {"folder": "pms_export_2022-01-31",
                                                                 "export_date": "2022-01-31"},
              "inputs": [{"source_table": "pms_dm", "file": "dm.csv", "path": "/x/dm.csv", "sha256": "0" * 64,
                          "bytes": 10, "rows_read": 1, "rows_loaded": 1, "rows_quarantined": 0}],
              "packages": package_versions(), "synthetic": {"seed": 1, "scale": 1.0, "true_treatment_hr": 0.36}}
    outputs["provenance"] = StepOutput(record, documents={"provenance": record})
    out = tmp_path_factory.mktemp("render")
    return write_study_report(outputs, out, simulation=None)


def test_the_report_renders_without_errors_broken_images_or_overflow(study_report, tmp_path):
    check = check_render(study_report, tmp_path)
    assert len(check.images) >= 5  # PS overlap, love plot, KM matched and by group, forest plot
    assert check.problems == []


def test_a_broken_image_fails_the_check(study_report, tmp_path):
    """Bad base64 in one image and valid base64 that is not a PNG in another: both reported as broken."""
    page = study_report.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,[^"]*"', page)
    page = page.replace(images[0], 'src="data:image/png;base64,!!not*base64!!"', 1)
    page = page.replace(images[1], f'src="data:image/png;base64,{base64.b64encode(b"not a png").decode()}"', 1)
    broken = tmp_path / "broken.html"
    broken.write_text(page, encoding="utf-8")
    check = check_render(broken, tmp_path)
    assert len(check.broken_images) == 2 and len(check.images) == len(images)
    assert any(p.startswith("broken image") for p in check.problems)


def test_a_console_error_and_a_wide_table_fail_the_check(tmp_path):
    page = ("<!doctype html><html><head><style>@media print{p{color:#000}}</style></head><body>"
            "<table><tr><td>" + "x" * 400 + "</td></tr></table><p>text</p>"
            "<script>console.error('boom')</script></body></html>")
    (tmp_path / "bad.html").write_text(page, encoding="utf-8")
    check = check_render(tmp_path / "bad.html", tmp_path)
    assert any("boom" in m for m in check.console)
    assert [o for o in check.overflow if o.startswith("TABLE")]


def test_the_report_screenshots_and_prints(study_report, tmp_path):
    from PIL import Image as PILImage

    png = screenshot(study_report, tmp_path / "report.png")
    with PILImage.open(png) as img:
        grey = img.convert("L")
        dark = sum(grey.histogram()[:200])  # pixels clearly darker than white
        assert img.width == 1100 and dark > 0.01 * img.width * img.height
    pdf = print_pdf(study_report, tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    assert pdf_pages(pdf) > 1


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header rows included; no lxml in the environment)."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(page: str, first_cell_of_header: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(page)
    return next(t for t in parser.tables if any(first_cell_of_header in row for row in t[:2]))


def test_not_reached_medians_print_nr_never_blank(study_report):
    """A median (or a CI limit) not reached is NR in the KM table; blank cells there would mean missing."""
    rows = _table(study_report.read_text(encoding="utf-8"), "median survival, days (95 % CI)")
    column = rows[0].index("median survival, days (95 % CI)")
    medians = [row[column] for row in rows[1:]]
    assert all(re.fullmatch(r"(\d+|NR) \((\d+|NR)-(\d+|NR)\)", m) for m in medians), medians
    assert any("NR" in m for m in medians)  # the committed cohort's BM-MSC median is not reached


def test_table_one_has_n_in_every_group_header_and_p_and_smd_before_and_after(study_report):
    rows = _table(study_report.read_text(encoding="utf-8"), "Characteristic")
    assert rows[0] == ["", "Before matching (eligible)", "After matching"]
    head = rows[1]
    assert head[0] == "Characteristic"
    for group in (head[1:5], head[5:9]):
        assert [h.split(" (N=")[0] for h in group] == ["BM-MSC", "PRO-ACT control", "p", "SMD"]
        assert all(re.search(r"\(N=\d+\)$", h) for h in group[:2])
    labels = [row[0] for row in rows[2:]]
    assert "Age, years, mean (SD)" in labels and "Onset site, bulbar, n (%)" in labels
    assert all(len(row) == 9 and all(cell for cell in row) for row in rows[2:])  # no blank cell


def test_the_report_opens_with_the_banner_and_synopsis_and_ends_with_its_provenance(study_report):
    page = study_report.read_text(encoding="utf-8")
    banner, synopsis, appendix = (page.index(s) for s in ('class="banner"', '<div class="synopsis">',
                                                          "Appendix: provenance</h2>"))
    assert banner < synopsis < page.index("<ol>") < appendix
    assert "render-test" in page and "onset_before_diagnosis_days: 365" in page  # run id, the spec's text
