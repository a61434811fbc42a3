"""`als-eca inspect` on a real-layout download with the quirks of a real one: subjects outside TREATMENT, exact
duplicate lines, absent optional forms, bare 2016-style names, and a PMS export without pr.csv. Its figures are
checked against an independent reading of the files; it writes no warehouse."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.xdist_group("dbt")


@pytest.fixture(scope="module")
def download(medium_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    proact, pms = root / "proact", root / "pms"
    shutil.copytree(medium_data / "proact", proact)
    shutil.copytree(medium_data / "pms", pms)
    for form in ("ADVERSEEVENTS", "CONMEDS", "LABS", "MUSCLESTRENGTH", "VITALSIGNS"):  # 11 of 16 forms, as measured
        (proact / f"PROACT_{form}.csv").unlink()
    (proact / "PROACT_RILUZOLE.csv").rename(proact / "Riluzole.csv")  # a 2016 archive name
    demo = proact / "PROACT_DEMOGRAPHICS.csv"
    lines = demo.read_bytes().splitlines(keepends=True)
    demo.write_bytes(b"".join([*lines, lines[5], lines[9]]))  # two exact duplicate lines
    export = sorted(pms.iterdir())[-1]
    (export / "pr.csv").unlink()
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["files"].pop("pr.csv")
    (export / "manifest.json").write_text(json.dumps(manifest))
    return root, len(lines)


def test_inspect_describes_a_real_layout_download(download, pseudonym_key):
    root, demo_lines = download
    before = sorted(p.name for p in root.rglob("*"))
    result = CliRunner().invoke(app, ["inspect", str(root), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert sorted(p.name for p in root.rglob("*")) == before, "inspect writes nothing next to the data"
    forms = {(f["source"], f["form"]): f for f in report["forms"]}
    assert forms[("proact", "LABS")]["status"] == "absent" and not forms[("proact", "LABS")]["required"]
    assert forms[("proact", "RILUZOLE")]["name_variant"] == "bare form name (2016 archive)"
    assert forms[("pms", "pr")]["status"] == "absent"
    demo = forms[("proact", "DEMOGRAPHICS")]
    assert demo["rows"] == demo_lines - 1 + 2 and demo["rows_loaded"] == demo_lines - 1
    assert demo["quarantined"] == [{"reason": "exact duplicate of line N", "rows": 2,
                                    "first_lines": [demo_lines + 1, demo_lines + 2]}]

    proact = root / "proact"
    treatment = pd.read_csv(proact / "PROACT_TREATMENT.csv")
    in_treatment = set(treatment["subject_id"])
    across = {r["file"]: r for r in report["subjects_across_files"] if r["source"] == "PRO-ACT"}
    for form in ("DEMOGRAPHICS", "ALSFRS", "ALSHISTORY", "DEATHDATA", "SVC"):
        ids = set(pd.read_csv(proact / f"PROACT_{form}.csv", usecols=["subject_id"])["subject_id"])
        assert (across[form]["subjects"], across[form]["not_in_parent"]) == (len(ids), len(ids - in_treatment))
    assert across["DEMOGRAPHICS"]["not_in_parent"] > 0  # the real download's structure: arm unknown

    flow = {(r["source"], r["step"]): r["patients"] for r in report["cohort_flow"]}
    assert flow[("PRO-ACT", "all patients")] == across["DEMOGRAPHICS"]["subjects"]
    assert flow[("PRO-ACT", "excluded: trial arm unknown")] == across["DEMOGRAPHICS"]["not_in_parent"]
    assert flow[("PRO-ACT", "eligible")] > 0 and flow[("PMS", "eligible")] > 0


def test_inspect_prints_plain_text_and_refuses_a_missing_folder(download, tmp_path, pseudonym_key):
    root, _ = download
    text = CliRunner().invoke(app, ["inspect", str(root / "proact"), "--no-cohort"])
    assert text.exit_code == 0, text.output
    assert "PROACT_DEMOGRAPHICS.csv" in text.output and "LABS" in text.output and "absent (optional)" in text.output
    assert "exact duplicate of line N" in text.output
    missing = CliRunner().invoke(app, ["inspect", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "nowhere: no such folder" in missing.output
