"""dbt tests as Dagster asset checks, a step per model: described, blocking when severity error, failing rows
shown, and a failed test stops only what depends on its model."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.dbt_checks import check_result, failing_rows, save_test_results


def _spec(name: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=dg.AssetKey(["marts", "fct_visit"]), blocking=blocking)


def test_a_failed_test_gets_a_sample_of_its_failing_rows_and_its_severity(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_visit AS SELECT * FROM (VALUES ('S1', 5), ('S2', 3)) t(subject_id, q1)")
    fail = {"status": "fail", "failures": 1, "message": "Got 1 result",
            "compiled_code": "select q1 as failing_value, * from marts.fct_visit where q1 > 4"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        failed = check_result(_spec("q1"), "test.als_eca.q1", fail, con)
        warned = check_result(_spec("q1_warn", blocking=False), "test.als_eca.q1_warn", {**fail, "status": "warn"}, con)
        broken = check_result(_spec("broken"), "test.als_eca.broken",
                              {**fail, "compiled_code": "select * from marts.no_such_table"}, con)
        skipped = check_result(_spec("skipped"), "test.als_eca.skipped", {"status": "skipped"}, con)
        passed = check_result(_spec("ok"), "test.als_eca.ok", {"status": "pass", "failures": 0}, con)
        assert failing_rows(con, None) == {}
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    sample = failed.metadata["failing_rows_sample"].value
    assert "S1" in sample and "S2" not in sample
    assert "where q1 > 4" in failed.metadata["failing_rows_sql"].value
    assert failed.metadata["failing_row_count"].value == 1
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "could not be selected" in broken.metadata["failing_rows_sample"].value  # said, not raised
    # a test dbt skipped was not evaluated: not a pass
    assert not skipped.passed and skipped.metadata["dbt_status"].value == "skipped"
    assert passed.passed and "failing_rows_sample" not in passed.metadata


def test_every_dbt_test_is_a_described_check_and_error_tests_block(tmp_path):
    from orchestration.dbt import TRANSLATOR, dbt_project
    from orchestration.dbt_checks import build_dbt_checks

    checks = build_dbt_checks(dbt_project(tmp_path / "warehouse.duckdb").manifest_path, TRANSLATOR)
    specs = [s for c in checks for s in c.check_specs]
    assert len(specs) >= 150 and len(checks) >= 30  # a step per model with tests
    assert all(s.description for s in specs)
    for s in specs:
        assert s.blocking == ("Severity error" in s.description), s.name
    for check in checks:  # each step checks one model
        assert len({s.asset_key for s in check.check_specs}) == 1


def test_only_the_newest_test_results_are_kept(tmp_path):
    import os

    for i in range(5):
        path = tmp_path / f"run{i}.json"
        save_test_results({"test.x": {"status": "pass"}}, path, keep=3)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    save_test_results({}, tmp_path / "run5.json", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run3.json", "run4.json", "run5.json"]


def test_only_the_newest_run_target_folders_are_kept(tmp_path):
    import os

    from orchestration.dbt_runner import prune_run_targets

    for i in range(8):
        folder = tmp_path / f"dbt_warehouse-run{i}-abc"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "partial_parse.msgpack").write_text("")  # not a run folder: untouched
    prune_run_targets(tmp_path, "dbt_warehouse", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_warehouse-run5-abc", "dbt_warehouse-run6-abc", "dbt_warehouse-run7-abc", "partial_parse.msgpack"]


@pytest.fixture
def defective_fct_treatment(small_data, tmp_path, monkeypatch, pseudonym_key):
    """A warehouse whose raw PMS injections hold one for a patient the PMS has no record of: only fct_treatment's
    relationships test (subject_id in dim_patient) can catch it."""
    from als_eca.ingest import load_all

    warehouse = tmp_path / "warehouse.duckdb"
    for variable, value in (("ALS_ECA_WAREHOUSE", warehouse), ("ALS_ECA_PROACT_DIR", small_data / "proact"),
                            ("ALS_ECA_PMS_DIR", small_data / "pms"), ("ALS_ECA_SNAPSHOT_DIR", tmp_path / "snap")):
        monkeypatch.setenv(variable, str(value))
    with duckdb.connect(str(warehouse)) as con:
        load_all(con, small_data / "proact", small_data / "pms")
        con.execute("CREATE TEMP TABLE orphan AS SELECT * FROM raw.pms_ex LIMIT 1")
        con.execute("UPDATE orphan SET USUBJID = 'ORPHAN-0001'")
        con.execute("INSERT INTO raw.pms_ex SELECT * FROM orphan")
    return warehouse


def test_a_failed_test_on_one_mart_stops_only_what_depends_on_it(defective_fct_treatment):
    from orchestration.definitions import build_definitions

    job = build_definitions().resolve_implicit_global_asset_job_def()
    keys = job.asset_layer.asset_graph.get_all_asset_keys()
    selection = {k for k in keys if k.path[0] in ("staging", "intermediate", "marts", "reference")} | {
        dg.AssetKey(["publish", "analyst_snapshot"]), dg.AssetKey(["analysis", "cohort_flow"])}
    result = job.get_subset(asset_selection=selection).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)

    evaluations = result.get_asset_check_evaluations()
    failed = {(e.asset_key.path[-1], e.check_name): e for e in evaluations if not e.passed}
    on_treatment = [e for (model, _), e in failed.items() if model == "fct_treatment"]
    assert on_treatment and all(e.severity == dg.AssetCheckSeverity.ERROR for e in on_treatment), failed
    assert any("ORPHAN" in e.metadata["failing_rows_sample"].value for e in on_treatment)
    # Nothing else failed: the other marts were built and every one of their blocking checks (dbt tests, Great
    # Expectations suites, the identifier scan) ran and passed.
    assert {model for model, _ in failed if model != "fct_treatment"} <= {"dim_patient"}  # (its warnings)
    assert not [e for e in failed.values() if e.asset_key.path[-1] != "fct_treatment"
                and e.severity == dg.AssetCheckSeverity.ERROR]
    ran = {(e.asset_key.path[-1], e.check_name) for e in evaluations}
    for mart in ("dim_patient", "fct_visit", "mart_survival_cohort", "fct_adverse_event"):
        names = {name for model, name in ran if model == mart}
        assert "no_direct_identifiers" in names and len(names) >= 3, (mart, names)  # + its dbt tests
    for mart in ("dim_patient", "fct_visit", "mart_survival_cohort"):  # the marts with a GX suite
        assert any(name.startswith("gx_") for model, name in ran if model == mart), mart
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_treatment"]) in built  # built, then its test failed ...
    assert dg.AssetKey(["publish", "analyst_snapshot"]) not in built  # ... so what reads it is stopped
    assert dg.AssetKey(["analysis", "cohort_flow"]) in built  # what does not read it goes on
    assert not result.success  # and the run says something failed

    # The same checks launched on their own (as from the UI's "Execute checks"): no dbt build in that run, so the
    # check step runs `dbt test` for its tests - never reporting an earlier run's results.
    treatment_checks = {dg.AssetCheckKey(e.asset_key, e.check_name) for e in evaluations
                        if e.asset_key.path[-1] == "fct_treatment" and not e.check_name.startswith(("gx_", "no_"))}
    alone = job.get_subset(asset_selection=set(), asset_check_selection=treatment_checks).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    again = {e.check_name: e.passed for e in alone.get_asset_check_evaluations()}
    assert set(again) == {k.name for k in treatment_checks}
    assert again == {name: passed for (model, name), passed in
                     (((e.asset_key.path[-1], e.check_name), e.passed) for e in evaluations) if model == "fct_treatment"
                     and name in again}


def test_each_warehouse_starts_dbt_from_its_own_saved_parse_state(tmp_path):
    # dbt re-parses the whole project when the vars (the warehouse path among them) differ from the saved state's:
    # a state per vars lets a rebuild of warehouse X from nothing parse incrementally after a run on Y.
    from orchestration.dbt_runner import keep_partial_parse, seed_parse_state, warehouse_vars

    args_x = ["build", *warehouse_vars(tmp_path / "x.duckdb", {"safety_window_days": 365})]
    args_y = ["build", *warehouse_vars(tmp_path / "y.duckdb", {"safety_window_days": 365})]
    for name, args in (("run-x", args_x), ("run-y", args_y)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "partial_parse.msgpack").write_text(f"state of {name}")
        keep_partial_parse(tmp_path / name, args)
    assert len(list((tmp_path / "parse_state").glob("*.msgpack"))) == 2  # one state per vars
    for args, expected in ((args_x, "state of run-x"), (args_y, "state of run-y")):
        new_run = tmp_path / f"next-{expected[-1]}"
        seed_parse_state(new_run, args)
        assert (new_run / "partial_parse.msgpack").read_text() == expected
    # the study's rules are vars too: other rules, no saved state (dbt parses afresh)
    other = ["build", *warehouse_vars(tmp_path / "x.duckdb", {"safety_window_days": 180})]
    seed_parse_state(tmp_path / "next-other", other)
    assert not (tmp_path / "next-other" / "partial_parse.msgpack").exists()
