"""The `als-eca` command line: every command answers --help; generate + calibration work end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_every_command_has_help():
    for command in ([], ["generate"], ["calibration"], ["analyze"], ["run"], ["cuts"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_generate_then_calibration_flags_a_small_sample(tmp_path):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "--scale", "0.02", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "proact" / "PROACT_ALSFRS.csv").exists()
    # At scale 0.02 the counts are compared with the paper's counts times 0.02: the table is printed, and the
    # small-sample noise in rare counts is allowed to fail the check (exit 1) but never to crash it.
    result = runner.invoke(app, ["calibration", str(tmp_path), "--scale", "0.02"])
    assert result.exit_code in (0, 1), result.output
    assert "| figure | paper | generated | ok |" in result.output


def test_analyze_writes_the_results_contract_and_figures(tmp_path):
    import json
    from pathlib import Path

    import pandas as pd

    from analytics.study import run_matched_analysis

    cohort = Path(__file__).parent / "analytics" / "data" / "study_cohort.csv"
    result = runner.invoke(app, ["analyze", str(cohort), "--out", str(tmp_path), "--tau", "1000"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "results.json").read_text())
    for key in ("n", "propensity", "matching", "km", "logrank", "rmst", "cox", "cox_robust", "pairwise_logrank"):
        assert key in written
    assert written["rmst"]["tau"] == 1000
    assert set(written["cox"]["terms"]) == {"group_single", "group_multiple", "sex_male", "onset_bulbar",
                                            "riluzole", "alsfrs_r_baseline_ge31", "age_ge54"}
    # The command reproduces the library's numbers exactly (what the Dagster assets call).
    direct = run_matched_analysis(pd.read_csv(cohort, dtype={"subject_id": str}), tau=1000).to_json_dict()
    assert {k: v for k, v in written.items() if k != "provenance"} == json.loads(json.dumps(direct))
    for name in ("km_matched.png", "love_plot.png", "ps_overlap.png", "cox_forest.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The sensitivity analyses as the sensitivity asset writes them (this cohort has no within-follow-up outcome).
    sensitivity = json.loads((tmp_path / "sensitivity.json").read_text())["analyses"]
    assert [row["analysis"] for row in sensitivity] == ["PS model + progression speed", "progression speed within Q1-Q3"]
    assert all(row["rmst_treated"] is not None for row in sensitivity)
    assert len(pd.read_parquet(tmp_path / "sensitivity.parquet")) == 2


def test_analyze_names_a_missing_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("subject_id,treated\n1,1\n")
    result = runner.invoke(app, ["analyze", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "time_days" in result.output


def test_run_refuses_a_warehouse_named_like_one_of_its_schemas(tmp_path, monkeypatch):
    for variable in ("ALS_ECA_PROACT_DIR", "ALS_ECA_PMS_DIR", "ALS_ECA_WAREHOUSE"):
        monkeypatch.setenv(variable, "")  # (run sets them for the graph: restored after the test)
    result = runner.invoke(app, ["run", "--warehouse", str(tmp_path / "raw.duckdb")])
    assert result.exit_code == 2, result.output
    assert "ALS_ECA_WAREHOUSE" in result.output and "'raw'" in result.output
    assert not (tmp_path / "raw.duckdb").exists()


def test_an_as_of_date_before_every_export_is_a_user_error_that_writes_nothing(tmp_path, monkeypatch, small_data):
    _fresh_settings(monkeypatch)
    monkeypatch.delenv("ALS_ECA_PMS_AS_OF", raising=False)
    args = ["run", "--proact", str(small_data / "proact"), "--pms", str(small_data / "pms"),
            "--warehouse", str(tmp_path / "out" / "w.duckdb")]
    early = runner.invoke(app, [*args, "--pms-as-of", "2019-01-01"])
    assert early.exit_code == 2, early.output
    assert early.output.count("\n") == 1 and "no PMS export on or before 2019-01-01" in early.output
    assert "2019-12-31, 2022-01-31" in early.output  # the cuts there are
    malformed = runner.invoke(app, [*args, "--pms-as-of", "Jan 2020"])
    assert malformed.exit_code == 2 and "not a date YYYY-MM-DD" in malformed.output
    assert _nothing_under(tmp_path / "out")


def _fresh_settings(monkeypatch) -> None:
    """No settings from the calling shell (run sets them for the graph; restored after the test)."""
    for variable in ("ALS_ECA_PROACT_DIR", "ALS_ECA_PMS_DIR", "ALS_ECA_WAREHOUSE", "ALS_ECA_SNAPSHOT_DIR"):
        monkeypatch.setenv(variable, "")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


def _nothing_under(path) -> bool:
    return not path.exists() or not any(path.rglob("*"))


def test_user_errors_are_one_line_exit_2_and_create_nothing(tmp_path, monkeypatch, small_data):
    for variable in ("ALS_ECA_PROACT_DIR", "ALS_ECA_PMS_DIR", "ALS_ECA_WAREHOUSE", "ALS_ECA_SNAPSHOT_DIR"):
        monkeypatch.setenv(variable, "")
    out = tmp_path / "out"
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["run", "--proact", str(tmp_path / "nowhere"), "--pms", str(small_data / "pms"),
          "--warehouse", str(out / "w.duckdb")], "PRO-ACT folder", "does not exist"),
        (["run", "--proact", str(small_data / "proact"), "--pms", str(tmp_path / "nowhere"),
          "--warehouse", str(out / "w.duckdb")], "PMS folder", "does not exist"),
        (["run", "--proact", str(small_data / "proact"), "--pms", str(small_data / "pms"),
          "--warehouse", str(tmp_path)], "is a folder", "warehouse"),
        (["calibration", str(tmp_path / "nowhere")], "nowhere", "does not exist"),
        (["analyze", str(tmp_path / "nowhere.csv"), "--out", str(out)], "nowhere.csv", "does not exist"),
        (["analyze", str(a_file), "--out", str(a_file)], "a_file", "not a"),
        (["generate", "--out", str(a_file)], "a_file", "is a file"),
        (["inspect", str(tmp_path / "nowhere")], "nowhere", "no such folder"),
    ]
    for args, *words in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.output)
        assert all(w in lines[0] for w in words), (args, lines[0])
        assert "Traceback" not in result.output
        assert _nothing_under(out), args


def test_a_run_on_a_locked_warehouse_ends_with_the_root_cause(tmp_path, monkeypatch, small_data, pseudonym_key):
    """Not Dagster's "Error occurred while executing op": the lock and its holder."""
    import subprocess
    import sys

    _fresh_settings(monkeypatch)
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " time.sleep(300)", str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = runner.invoke(app, ["run", "--proact", str(small_data / "proact"), "--pms", str(small_data / "pms"),
                                     "--warehouse", str(warehouse), "--force"])
    finally:
        holder.kill()
    assert result.exit_code == 1, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")][-1]
    assert "lock" in error and str(holder.pid) in error, error
    assert "Error occurred while executing" not in error


def test_a_second_run_waits_for_the_writer_or_fails_at_once_naming_it(tmp_path, monkeypatch, small_data,
                                                                      pseudonym_key):
    import subprocess
    import sys

    _fresh_settings(monkeypatch)
    warehouse = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from als_eca.warehouse_lock import warehouse_lock\n"
         "with warehouse_lock(sys.argv[1]):\n print('ready', flush=True); time.sleep(float(sys.argv[2]))",
         str(warehouse), "8"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        args = ["run", "--proact", str(small_data / "proact"), "--pms", str(small_data / "pms"),
                "--warehouse", str(warehouse), "--force"]
        refused = runner.invoke(app, [*args, "--no-wait"])
        assert refused.exit_code == 3, refused.output
        assert f"PID {holder.pid}" in refused.output and "being written" in refused.output
        assert not warehouse.exists()
        waited = runner.invoke(app, args)  # blocks until the holder lets go, then runs
    finally:
        holder.kill()
    assert waited.exit_code == 0, waited.output
    assert f"waiting for warehouse {warehouse}" in waited.output and f"PID {holder.pid}" in waited.output


def test_analyze_records_how_its_results_were_made(tmp_path):
    """`als-eca analyze --caliper 0.1 --ratio 2` says so in results.json; --study takes a spec's options."""
    import json
    from pathlib import Path

    from als_eca.settings import REPO_ROOT

    cohort = Path(__file__).parent / "analytics" / "data" / "study_cohort.csv"
    result = runner.invoke(app, ["analyze", str(cohort), "--out", str(tmp_path / "a"), "--caliper", "0.1",
                                 "--ratio", "2"])
    assert result.exit_code == 0, result.output
    made = json.loads((tmp_path / "a" / "results.json").read_text())["provenance"]
    assert made["options"]["caliper"] == 0.1 and made["options"]["ratio"] == 2
    assert made["overridden_by_flags"] == ["caliper", "ratio"] and made["study"]["id"] == "nam2023"
    assert len(made["cohort_sha256"]) == 64 and made["command"] == "als-eca analyze"
    variant = REPO_ROOT / "studies" / "caliper02_ratio2_aligned.yml"
    result = runner.invoke(app, ["analyze", str(cohort), "--out", str(tmp_path / "b"), "--study", str(variant)])
    assert result.exit_code == 0, result.output
    made = json.loads((tmp_path / "b" / "results.json").read_text())["provenance"]
    assert (made["options"]["caliper"], made["options"]["ratio"], made["overridden_by_flags"]) == (0.2, 2, [])
    bad = tmp_path / "bad.yml"
    bad.write_text(variant.read_text().replace("ratio: 2", "ratio: two"))
    result = runner.invoke(app, ["analyze", str(cohort), "--out", str(tmp_path / "c"), "--study", str(bad)])
    assert result.exit_code == 2 and "matching.ratio" in result.output
