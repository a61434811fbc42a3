"""The whole asset graph, in-process, on a small generated dataset: what `als-eca run` / `make demo` do."""

from __future__ import annotations

import duckdb
import pytest

from als_eca import privacy
from als_eca.ingest.schemas import ALL_TABLES

pytestmark = pytest.mark.xdist_group("pipeline")


@pytest.fixture(scope="module")
def pipeline_run(small_data, tmp_path_factory):
    from als_eca.pipeline import run_pipeline

    warehouse = tmp_path_factory.mktemp("pipeline") / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        mp.delenv("DAGSTER_HOME", raising=False)
        summary = run_pipeline(proact=small_data / "proact", pms=small_data / "pms", warehouse=warehouse,
                               log_level="WARNING")
    return summary


def test_the_whole_graph_succeeds_with_every_check_green(pipeline_run):
    assert pipeline_run.success, pipeline_run.failure
    assert pipeline_run.failed_checks == []
    assert {f"raw/{t.table}" for t in ALL_TABLES} <= set(pipeline_run.materialised)


def test_every_file_is_reconciled(pipeline_run):
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        rows = con.execute("SELECT source_table, rows_read, rows_loaded, rows_quarantined FROM raw.load_audit").fetchall()
    assert len(rows) == len(ALL_TABLES)
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in rows)


def test_no_table_or_view_holds_a_direct_identifier(pipeline_run):
    with duckdb.connect(str(pipeline_run.warehouse), read_only=True) as con:
        assert privacy.scan(con) == []


def test_the_identifier_scan_finds_planted_identifiers(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.t AS SELECT 'PMS-0a1b' AS subject_id, 'KJH' AS patinit, 1990 AS birth_year")
        con.execute("CREATE VIEW marts.v AS SELECT 'see NR-PMS-101-0042' AS note")
        found = {(f.table, f.column, f.what) for f in privacy.scan(con)}
    assert found == {("marts.t", "patinit", "identifier column"), ("marts.v", "note", "original PMS subject id")}
