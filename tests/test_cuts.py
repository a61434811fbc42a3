"""Results by data cut (als_eca/study/cuts.py): a run's headline figures kept per study and PMS export date, replaced
by a rerun of the same cut, read back oldest first; the report's section and `als-eca cuts` show them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from als_eca.study.cuts import cut_rows, hr_points, read_cuts, record_cut, studies
from als_eca.study.report import cuts_section
from als_eca.study.synopsis import synopsis_of


def _results(hr: float, pairs: int = 40, deaths: tuple[int, int] = (10, 20)) -> dict:
    """A results document with the fields the synopsis reads (as the matched analysis stores them)."""
    km = {arm: {"n": pairs, "events": d, "median": None, "median_lower": 300.0, "median_upper": None}
          for arm, d in zip(("treated", "control"), deaths, strict=True)}
    return {
        "n": {"treated": pairs + 5, "control": 900},
        "matching": {"pairs": [[f"T{i}", f"C{i}"] for i in range(pairs)]},
        "km": km,
        "cox": {"terms": {"group_single": {"hr": hr, "lower": hr / 2, "upper": hr * 2, "p": 0.04},
                          "group_multiple": {"hr": hr / 2, "lower": hr / 4, "upper": hr, "p": 0.01}}},
        "logrank": {"p": 0.0004},
        "rmst": {"tau": 730.0, "treated": {"estimate": 600.0}, "control": {"estimate": 500.0}},
        "diagnostics": [{"name": "max_abs_smd", "value": 0.08, "passed": True},
                        {"name": "power", "value": 0.5, "passed": False}],
    }


def _provenance(export_date: str, run_id: str, study: str = "nam2023") -> dict:
    return {"run_id": run_id, "generated_at": "2024-01-01T00:00:00Z", "code": {"commit": "abc123", "dirty": False},
            "study": {"id": study, "sha256": "f" * 64},
            "pms_export": {"folder": f"/data/pms/pms_export_{export_date}", "export_date": export_date}}


def _documents(hr: float) -> dict:
    return {"aligned": _results(hr), "replication": {"not_estimable": "3 treated and 11 controls"}}


def test_a_cut_keeps_the_synopsis_and_a_rerun_replaces_it(tmp_path):
    first = record_cut(tmp_path, _documents(0.9), _provenance("2022-01-31", "run-a"))
    assert first == tmp_path / "nam2023" / "2022-01-31.json"
    record = json.loads(first.read_text())
    assert record["analyses"] == json.loads(json.dumps(synopsis_of(_documents(0.9))))  # the synopsis, not a recount
    assert (record["run_id"], record["code"]["commit"], record["generated_at"]) == ("run-a", "abc123",
                                                                                    "2024-01-01T00:00:00Z")
    record_cut(tmp_path, _documents(0.7), _provenance("2022-01-31", "run-b"))  # the same cut, run again
    assert [p.name for p in (tmp_path / "nam2023").iterdir()] == ["2022-01-31.json"]  # (no temporary file left)
    (again,) = read_cuts(tmp_path, "nam2023")
    assert again["run_id"] == "run-b" and again["analyses"]["aligned"]["hr"]["group_single"]["hr"] == 0.7


def test_cuts_are_read_back_oldest_first_and_each_study_apart(tmp_path):
    record_cut(tmp_path, _documents(0.8), _provenance("2022-01-31", "late"))
    record_cut(tmp_path, _documents(0.6), _provenance("2019-12-31", "early"))
    record_cut(tmp_path, _documents(1.1), _provenance("2020-06-30", "other", study="caliper02-ratio2-aligned"))
    assert [c["run_id"] for c in read_cuts(tmp_path, "nam2023")] == ["early", "late"]
    assert [c["run_id"] for c in read_cuts(tmp_path, "caliper02-ratio2-aligned")] == ["other"]
    assert read_cuts(tmp_path, "no-such-study") == []
    assert studies(tmp_path) == ["caliper02-ratio2-aligned", "nam2023"]


def test_a_run_without_a_known_export_date_records_no_cut(tmp_path):
    provenance = _provenance("2022-01-31", "run")
    provenance["pms_export"] = {"folder": None, "export_date": None}
    assert record_cut(tmp_path, _documents(0.9), provenance) is None
    assert not tmp_path.joinpath("nam2023").exists()


def test_the_table_has_a_row_per_cut_and_analysis_and_marks_this_run(tmp_path):
    record_cut(tmp_path, _documents(0.8), _provenance("2022-01-31", "late-run"))
    record_cut(tmp_path, _documents(0.6), _provenance("2019-12-31", "early-run"))
    rows = cut_rows(read_cuts(tmp_path, "nam2023"), current="2022-01-31")
    assert [(r[0], r[1]) for r in rows] == [("2019-12-31", "aligned"), ("2019-12-31", "replication"),
                                           ("2022-01-31 (this run)", "aligned"), ("2022-01-31 (this run)",
                                                                                  "replication")]
    assert rows[0][2:] == ("45 / 900", "40", "10 / 20", "0.60 (0.30-1.20)", "0.30 (0.15-0.60)", "< 0.001",
                           "early-ru")
    assert rows[1][5] == "3 treated and 11 controls"  # an analysis without results says why
    points = hr_points(read_cuts(tmp_path, "nam2023"))
    assert points.to_dict("records") == [
        {"export_date": "2019-12-31", "analysis": "aligned", "hr": 0.6, "lower": 0.3, "upper": 1.2},
        {"export_date": "2022-01-31", "analysis": "aligned", "hr": 0.8, "lower": 0.4, "upper": 1.6}]


def test_the_report_section_shows_a_figure_from_two_cuts_and_says_how_with_one(tmp_path):
    record_cut(tmp_path, _documents(0.8), _provenance("2022-01-31", "late"))
    one = cuts_section(read_cuts(tmp_path, "nam2023"), "2022-01-31")
    assert one.title == "Results by data cut"
    assert any(isinstance(b, str) and "Only one data cut (PMS export 2022-01-31)" in b and "--pms-as-of" in b
               for b in one.blocks)
    record_cut(tmp_path, _documents(0.6), _provenance("2019-12-31", "early"))
    two = cuts_section(read_cuts(tmp_path, "nam2023"), "2022-01-31")
    (table,) = [b for b in two.blocks if hasattr(b, "columns")]
    assert list(table["export date"]) == ["2019-12-31", "2019-12-31", "2022-01-31 (this run)",
                                          "2022-01-31 (this run)"]
    (image,) = [b for b in two.blocks if hasattr(b, "png")]
    assert image.png.startswith(b"\x89PNG")
    assert not any(isinstance(b, str) and "Only one data cut" in b for b in two.blocks)


def test_the_cuts_command_lists_every_study_and_says_when_there_is_none(tmp_path):
    from cli.main import app

    runner = CliRunner()
    warehouse = tmp_path / "warehouse.duckdb"
    empty = runner.invoke(app, ["cuts", "--warehouse", str(warehouse)])
    assert empty.exit_code == 1 and "no data cut recorded" in empty.output and "--pms-as-of" in empty.output
    record_cut(tmp_path / "cuts", _documents(0.8), _provenance("2022-01-31", "late-run"))
    record_cut(tmp_path / "cuts", _documents(0.6), _provenance("2019-12-31", "early-run"))
    record_cut(tmp_path / "cuts", _documents(1.1), _provenance("2020-06-30", "other", study="variant"))
    result = runner.invoke(app, ["cuts", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "study nam2023" and lines[1].startswith("export date")
    assert [line.split()[0] for line in lines[2:6]] == ["2019-12-31", "2019-12-31", "2022-01-31", "2022-01-31"]
    assert "0.60 (0.30-1.20)" in lines[2] and "study variant" in lines
    only = runner.invoke(app, ["cuts", "--warehouse", str(warehouse), "--study", "variant"])
    assert only.exit_code == 0 and "nam2023" not in only.output and "2020-06-30" in only.output


@pytest.mark.parametrize("bad", ["2022-13-01", "latest"])
def test_a_declared_export_date_that_is_no_date_names_no_file(tmp_path, bad):
    assert record_cut(tmp_path, _documents(0.9), _provenance(bad, "run")) is None
