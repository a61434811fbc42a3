"""dbt tests as Dagster asset checks: described, blocking when severity error, failing rows shown."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.dbt import with_failing_rows


def _failed(name: str, unique_id: str | None) -> dg.AssetCheckResult:
    metadata = {"dagster_dbt/failed_row_count": 1} | ({"unique_id": unique_id} if unique_id else {})
    return dg.AssetCheckResult(passed=False, asset_key=dg.AssetKey(["marts", "fct_visit"]), check_name=name,
                               metadata=metadata)


def test_failed_checks_get_a_sample_of_their_failing_rows(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_visit AS SELECT * FROM (VALUES ('S1', 5), ('S2', 3)) t(subject_id, q1)")
    compiled = {"test.als_eca.q1": "select q1 as failing_value, * from marts.fct_visit where q1 > 4",
                "test.als_eca.broken": "select * from marts.no_such_table"}
    out = with_failing_rows([_failed("q1", "test.als_eca.q1"), _failed("broken", "test.als_eca.broken"),
                             _failed("unknown", None)], compiled, warehouse)
    sample = out[0].metadata["failing_rows_sample"].value
    assert "S1" in sample and "S2" not in sample
    assert "where q1 > 4" in out[0].metadata["failing_rows_sql"].value
    assert out[0].metadata["dagster_dbt/failed_row_count"].value == 1
    assert "could not be selected" in out[1].metadata["failing_rows_sample"].value  # said, not raised
    assert "failing_rows_sample" not in out[2].metadata


def test_every_dbt_test_is_a_described_asset_check_and_error_tests_block(tmp_path):
    from orchestration.dbt import build_dbt_assets

    specs = list(build_dbt_assets(tmp_path / "warehouse.duckdb").check_specs)
    assert len(specs) >= 150
    assert all(s.description for s in specs)
    for s in specs:
        assert s.blocking == ("Severity error" in s.description), s.name


def test_only_the_newest_run_target_folders_are_kept(tmp_path):
    import os

    from orchestration.dbt import prune_run_targets

    for i in range(8):
        folder = tmp_path / f"dbt_warehouse-run{i}-abc"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "partial_parse.msgpack").write_text("")  # not a run folder: untouched
    prune_run_targets(tmp_path, "dbt_warehouse", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_warehouse-run5-abc", "dbt_warehouse-run6-abc", "dbt_warehouse-run7-abc", "partial_parse.msgpack"]


def test_a_failing_dbt_test_is_reported_with_its_failing_rows_and_fails_the_step(small_data, tmp_path, monkeypatch,
                                                                                 pseudonym_key):
    from als_eca.ingest import load_all
    from orchestration.definitions import build_definitions

    warehouse = tmp_path / "warehouse.duckdb"
    for variable, value in (("ALS_ECA_WAREHOUSE", warehouse), ("ALS_ECA_PROACT_DIR", small_data / "proact"),
                            ("ALS_ECA_PMS_DIR", small_data / "pms"), ("ALS_ECA_SNAPSHOT_DIR", tmp_path / "snap")):
        monkeypatch.setenv(variable, str(value))
    with duckdb.connect(str(warehouse)) as con:
        load_all(con, small_data / "proact", small_data / "pms")
        con.execute("UPDATE raw.pms_ae SET AEREL = 'Maybe' WHERE rowid = 0")  # an unknown causality: ADR unknown
    job = build_definitions().resolve_implicit_global_asset_job_def()
    dbt_keys = {k for k in job.asset_layer.asset_graph.get_all_asset_keys()
                if k.path[0] in ("staging", "intermediate", "marts", "reference")}
    result = job.get_subset(asset_selection=dbt_keys).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)

    assert not result.success
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    check = failed["pms_ae_causality_valid"]
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert "MAYBE" in check.metadata["failing_rows_sample"].value  # (staging upper-cases codings)
    # What does not depend on the defect was still built.
    built = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["staging", "stg_proact__demographics"]) in built
