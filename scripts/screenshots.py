"""Screenshots of the Dagster UI for the README: the asset graph and the checks page, by headless Chromium; and
of the dbt docs site's overview page.

    uv run --frozen python scripts/screenshots.py [--url http://127.0.0.1:3000] [--out docs/img]
    uv run --frozen python scripts/screenshots.py --dbt-docs [dbt_project/target/static_index.html]
    uv run --frozen python scripts/screenshots.py --snapshot-queries

The UI pictures need a running `make ui` (after `make demo`, so the checks have results); `--dbt-docs` needs only
the static page of `make docs` and writes docs/screenshots/dbt_docs_overview.png. Both need a Chromium binary
(`apt-get install chromium`; set CHROMIUM=/path/to/chrome otherwise). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

PAGES = {
    "asset_graph.png": "/asset-groups",  # the global lineage: raw -> staging -> intermediate -> marts -> analysis
    "asset_checks.png": "/assets/marts/mart_survival_cohort?view=checks",
    "mart_page.png": "/assets/marts/dim_patient",  # row count and column types (from the dbt step)
    "analysis_page.png": "/assets/analysis/matched_cohort",  # the key numbers: pairs, HRs with CI, log-rank p
    "jobs.png": "/jobs",  # refresh_all and refresh_pms, used by the schedule and the sensor
    "runs.png": "/runs",
}
DBT_DOCS = Path("dbt_project/target/static_index.html")  # `make docs`
DBT_DOCS_PICTURE = Path("docs/screenshots/dbt_docs_overview.png")
SNAPSHOT = Path("data/snapshot/snapshot.duckdb")  # `make demo`
QUERIES_PICTURE = Path("docs/screenshots/snapshot_queries.png")


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("no Chromium found: apt-get install chromium, or set CHROMIUM=/path/to/chrome")


def dbt_docs_overview(browser: str, page: Path = DBT_DOCS, target: Path = DBT_DOCS_PICTURE) -> Path:
    """The first page of the dbt docs site - the project's overview: what the warehouse is, its layers and marts -
    from the static page of `make docs` (one file holding dbt's app, manifest and catalog: no server needed)."""
    if not page.is_file():
        sys.exit(f"no {page}: run `make docs` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Tall enough for the title, the layers and the marts table; virtual time for dbt's app to read its inline
    # manifest and render before the capture.
    subprocess.run([browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    "--window-size=1400,1350", "--virtual-time-budget=15000", f"--screenshot={target}",
                    page.resolve().as_uri() + "#!/overview"], check=True, capture_output=True)
    from PIL import Image

    with Image.open(target) as img:  # 256 colours: a third of the size, the text stays sharp
        quantized = img.convert("RGB").quantize(colors=256)
    quantized.save(target, optimize=True)
    return target


def readme_queries(readme: Path = Path("README.md")) -> list[str]:
    """The sql blocks of the README's analyst section (between its `analyst-queries` markers; a test runs them)."""
    section = readme.read_text().split("<!-- analyst-queries")[1].split("<!-- /analyst-queries -->")[0]
    return [block.split("```", 1)[0].strip() for block in section.split("```sql")[1:]]


def snapshot_queries(browser: str, snapshot: Path = SNAPSHOT, target: Path = QUERIES_PICTURE) -> Path:
    """The README's analyst queries as `make sql` shows them: each run by the project's duckdb CLI on the snapshot,
    read-only, its output on a terminal-like page."""
    import html
    import tempfile

    if not snapshot.is_file():
        sys.exit(f"no {snapshot}: run `make demo` first")
    cli = Path(sys.executable).parent / "duckdb"
    shown = []
    for sql in readme_queries():
        out = subprocess.run([str(cli), "-readonly", str(snapshot), "-c", sql], check=True, capture_output=True,
                             text=True).stdout
        shown.append(f"<b>D</b> {html.escape(sql)}\n{html.escape(out)}")
    page = ("<html><body style='margin:0;background:#1e1e1e;color:#ddd'><pre style='font:13px/1.35 monospace;"
            "padding:16px;margin:0'>" + "\n".join(shown) + "</pre></body></html>")
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as f:
        f.write(page)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                    "--window-size=1200,2400", f"--screenshot={target}", Path(f.name).as_uri()],
                   check=True, capture_output=True)
    Path(f.name).unlink()
    from PIL import Image, ImageChops

    picture = Image.open(target).convert("RGB")  # cut the empty page below the last query
    box = ImageChops.difference(picture, Image.new("RGB", picture.size, picture.getpixel((0, 0)))).getbbox()
    picture.crop((0, 0, picture.width, min(picture.height, box[3] + 16))).save(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--dbt-docs", type=Path, nargs="?", const=DBT_DOCS, metavar="STATIC_INDEX",
                        help=f"only the dbt docs overview (from `make docs`; no UI needed) -> {DBT_DOCS_PICTURE}")
    parser.add_argument("--snapshot-queries", action="store_true",
                        help=f"only the README's analyst queries on the snapshot (no UI needed) -> {QUERIES_PICTURE}")
    args = parser.parse_args()
    browser = chromium()
    if args.snapshot_queries:
        print(f"wrote {snapshot_queries(browser)}")
        return
    if args.dbt_docs:
        print(f"wrote {dbt_docs_overview(browser, args.dbt_docs)}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    # The UI greets a new local instance with a community dialog; mark it seen (server side) so it does not cover
    # the pages.
    request = urllib.request.Request(f"{args.url}/graphql", data=json.dumps({"query": "mutation { setNuxSeen }"})
                                     .encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    for name, page in PAGES.items():
        target = args.out / name
        # The UI is a single-page app: give it virtual time to fetch and lay out before the capture.
        subprocess.run([browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                        "--window-size=1600,1000", "--virtual-time-budget=15000", f"--screenshot={target}",
                        args.url + page], check=True, capture_output=True)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
