"""dbt tests as Dagster asset checks: described, blocking when severity error, failing rows shown."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.dbt import with_failing_rows


def test_failed_checks_get_a_sample_of_their_failing_rows(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA test_failures")
        con.execute("CREATE TABLE marts.fct_visit AS SELECT 'S1' AS subject_id, 5 AS q1_speech")
        con.execute('CREATE VIEW test_failures."value_between_fct_visit_q1" AS '
                    "SELECT * FROM marts.fct_visit WHERE q1_speech > 4")
    failed = dg.AssetCheckResult(passed=False, asset_key=dg.AssetKey(["marts", "fct_visit"]),
                                 check_name="value_between_fct_visit_q1", metadata={"dagster_dbt/failed_row_count": 1})
    unknown = dg.AssetCheckResult(passed=False, asset_key=dg.AssetKey(["marts", "fct_visit"]), check_name="other")
    out = with_failing_rows([failed, unknown], warehouse)
    sample = out[0].metadata["failing_rows_sample"].value
    assert "S1" in sample and "5" in sample
    assert out[0].metadata["failing_rows_table"].value == "test_failures.value_between_fct_visit_q1"
    assert out[0].metadata["dagster_dbt/failed_row_count"].value == 1
    assert "failing_rows_sample" not in out[1].metadata


def test_every_dbt_test_is_a_described_asset_check_and_error_tests_block():
    from orchestration.dbt import build_dbt_assets

    specs = list(build_dbt_assets().check_specs)
    assert len(specs) >= 150
    assert all(s.description for s in specs)
    for s in specs:
        assert s.blocking == ("Severity error" in s.description), s.name
