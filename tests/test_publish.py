"""The analyst snapshot: a copy of the marts (with their comments, and views in `main`), the analysis results and
what built it, swapped in atomically; open readers keep a consistent view."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from als_eca.publish import ANALYSIS_TABLES, STORAGE_VERSION, StepTables, publish_snapshot

#: The `duckdb` shell of `make sql`: the one installed into this environment (duckdb-cli), beside its python.
DUCKDB_CLI = Path(sys.executable).with_name("duckdb")


def _warehouse(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(f"CREATE OR REPLACE TABLE marts.dim_patient AS SELECT range AS id, {version} AS v FROM range(100)")
    con.execute(f"CREATE OR REPLACE TABLE marts.fct_visit AS SELECT range AS id, {version} AS v FROM range(7)")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE OR REPLACE TABLE raw.not_published AS SELECT 1 AS x")
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")  # failure alerts (als_eca/alerts.py) stay in the warehouse
    con.execute("CREATE OR REPLACE TABLE ops.alerts AS SELECT 'run failed' AS message")
    return con


def test_publish_copies_every_mart_and_nothing_else(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        snap = publish_snapshot(con, tmp_path / "snapshot")
    assert snap.tables == {"dim_patient": 100, "fct_visit": 7}
    with duckdb.connect(str(snap.database), read_only=True) as reader:
        tables = reader.execute("SELECT table_schema || '.' || table_name, table_type "
                                "FROM information_schema.tables").fetchall()
    assert sorted(tables) == [("main.dim_patient", "VIEW"), ("main.fct_visit", "VIEW"),
                              ("marts.dim_patient", "BASE TABLE"), ("marts.fct_visit", "BASE TABLE")]
    assert len(pd.read_parquet(snap.parquet_dir / "dim_patient.parquet")) == 100
    assert not list((tmp_path / "snapshot").glob(".*")), "temporary files left behind"


def test_the_marts_keep_their_comments_and_unqualified_names_are_the_marts(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        con.execute("COMMENT ON TABLE marts.dim_patient IS 'One row per patient (the patient''s pseudonym)'")
        con.execute("COMMENT ON COLUMN marts.dim_patient.id IS 'The patient''s id'")
        snap = publish_snapshot(con, tmp_path / "snapshot")
    with duckdb.connect(str(snap.database), read_only=True) as reader:
        tables = dict(reader.execute("SELECT schema_name, comment FROM duckdb_tables() "
                                     "WHERE table_name = 'dim_patient'").fetchall())
        views = dict(reader.execute("SELECT schema_name, comment FROM duckdb_views() "
                                    "WHERE view_name = 'dim_patient'").fetchall())
        columns = reader.execute("SELECT schema_name, column_name, comment FROM duckdb_columns() "
                                 "WHERE table_name = 'dim_patient' ORDER BY ALL").fetchall()
        # the client's default schema is main: the bare name is the mart, through its view
        assert reader.execute("SELECT count(*), max(v) FROM dim_patient").fetchone() == (100, 1)
    assert tables == {"marts": "One row per patient (the patient's pseudonym)"}
    assert views == {"main": "One row per patient (the patient's pseudonym) (main.dim_patient is a view of "
                             "marts.dim_patient)"}
    assert columns == [("main", "id", "The patient's id"), ("main", "v", None),
                       ("marts", "id", "The patient's id"), ("marts", "v", None)]


def _provenance() -> dict:
    """A provenance record as als_eca.provenance.collect makes it (the fields the snapshot reads)."""
    return {"run_id": "run-of-the-analysis", "code": {"commit": "a" * 40, "dirty": False},
            "study": {"id": "nam2023", "sha256": "b" * 64, "text": "id: nam2023"},
            "pms_export": {"folder": "/x/pms_export_2022-01-31", "export_date": "2022-01-31"},
            "inputs": [{"source_table": "pms_dm", "file": "dm.csv", "path": "/x/dm.csv", "sha256": "c" * 64,
                        "bytes": 1234, "rows_read": 10, "rows_loaded": 9, "rows_quarantined": 1},
                       {"source_table": "pms_pr", "file": None, "path": None, "sha256": None, "bytes": None,
                        "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0}],
            "synthetic": {"file": "/x/generation.json", "synthetic": True}}


def test_the_analysis_results_are_tables_and_an_absent_step_says_why(tmp_path):
    km = pd.DataFrame({"group": ["BM-MSC (matched)", "PRO-ACT control (matched)"], "n": [10, 10],
                       "median_days": [700.0, None]})
    pairs = pd.DataFrame({"treated_id": ["PMS-0a1b"], "control_id": ["1234"], "distance": [0.01]})
    steps = {
        "survival": StepTables("estimated", {"km_summary": km, "rmst": km.head(0)}),
        "matched_cohort": StepTables("estimated", {"matched_pairs": pairs, "matched_scores": pairs}),
        "cox_model": StepTables("not estimable", reason="the Cox model cannot be fitted on this matched set"),
        "sensitivity": StepTables("not requested", reason="not requested by the study spec (sensitivity: [])"),
    }
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        snap = publish_snapshot(con, tmp_path / "snapshot", steps=steps)
    assert snap.analysis == {"km_summary": 2, "rmst": 0, "matched_pairs": 1}  # (matched_scores: not published)
    with duckdb.connect(str(snap.database), read_only=True) as reader:
        comments = dict(reader.execute("SELECT table_name, comment FROM duckdb_tables() "
                                       "WHERE schema_name = 'analysis'").fetchall())
        medians = reader.execute("SELECT median_days FROM analysis.km_summary ORDER BY ALL").fetchall()
        status = reader.execute("SELECT step, status, reason, tables FROM analysis.steps ORDER BY step").fetchall()
    assert set(comments) == {"km_summary", "rmst", "matched_pairs", "steps"}
    assert "Kaplan-Meier" in comments["km_summary"] and "analysis step `survival`" in comments["km_summary"]
    assert "analysis step `matched_cohort`" in comments["matched_pairs"]
    assert medians == [(700.0,), (None,)]  # a median not reached stays NULL
    assert status == [("cox_model", "not estimable", "the Cox model cannot be fitted on this matched set", ""),
                      ("matched_cohort", "estimated", None, "matched_pairs"),
                      ("sensitivity", "not requested", "not requested by the study spec (sensitivity: [])", ""),
                      ("survival", "estimated", None, "km_summary, rmst")]
    assert len(pd.read_parquet(snap.parquet_dir / "analysis" / "km_summary.parquet")) == 2


def test_every_published_analysis_table_has_its_own_name_and_a_description():
    names = [t.name for t in ANALYSIS_TABLES]
    assert len(names) == len(set(names))
    assert len({(t.step, t.part) for t in ANALYSIS_TABLES}) == len(ANALYSIS_TABLES)
    assert all(t.description.endswith(".") and len(t.description) > 30 for t in ANALYSIS_TABLES)


def test_snapshot_info_records_what_built_the_snapshot(tmp_path):
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        snap = publish_snapshot(con, tmp_path / "snapshot", provenance=_provenance(), run_id="run-of-the-snapshot")
    with duckdb.connect(str(snap.database), read_only=True) as reader:
        info = reader.execute("SELECT * FROM snapshot_info").df()
        inputs = reader.execute("SELECT * FROM snapshot_inputs ORDER BY source_table").fetchall()
        undocumented = reader.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN "
                                      "('snapshot_info', 'snapshot_inputs') AND comment IS NULL").fetchall()
    assert len(info) == 1
    row = info.iloc[0]
    assert row["built_at"] >= pd.Timestamp(before)
    assert (row["run_id"], row["analysis_run_id"]) == ("run-of-the-snapshot", "run-of-the-analysis")
    assert (row["code_commit"], bool(row["code_dirty"])) == ("a" * 40, False)
    assert (row["study_id"], row["study_spec_sha256"]) == ("nam2023", "b" * 64)
    assert str(row["pms_export_date"])[:10] == "2022-01-31" and bool(row["synthetic"])
    assert (row["input_files"], row["storage_version"]) == (1, STORAGE_VERSION)
    assert inputs == [("pms_dm", "dm.csv", "c" * 64, 1234, 10, 9, 1), ("pms_pr", None, None, None, 0, 0, 0)]
    assert undocumented == []


def test_the_duckdb_shell_is_the_library_s_version():
    """duckdb-cli and duckdb are pinned together (pyproject.toml): the shell reads what the library writes."""
    assert importlib.metadata.version("duckdb-cli") == importlib.metadata.version("duckdb") == duckdb.__version__
    out = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == f"v{duckdb.__version__}"


def test_an_open_reader_keeps_its_snapshot_while_a_new_one_is_published(tmp_path):
    con = _warehouse(tmp_path / "w.duckdb", 1)
    snap = publish_snapshot(con, tmp_path / "snapshot")
    reader = duckdb.connect(str(snap.database), read_only=True)
    con.execute(
        "CREATE OR REPLACE TABLE marts.dim_patient AS SELECT range AS id, 2 AS v FROM range(50)"
    )
    publish_snapshot(con, tmp_path / "snapshot")  # must not wait for, nor disturb, the open reader
    assert reader.execute("SELECT count(*), max(v) FROM marts.dim_patient").fetchone() == (100, 1)
    reader.close()
    with duckdb.connect(str(snap.database), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*), max(v) FROM marts.dim_patient").fetchone() == (50, 2)
    con.close()


def test_the_duckdb_shell_of_make_sql_opens_the_snapshot(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        snap = publish_snapshot(con, tmp_path / "snapshot")
    out = subprocess.run(
        [str(DUCKDB_CLI), "-readonly", "-csv", str(snap.database), "-c", "SELECT count(*) AS n FROM dim_patient"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.split() == ["n", "100"]


def test_temporaries_of_a_killed_publish_are_removed_by_the_next(tmp_path):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    stale = [snapshot / ".snapshot-dead1234abcd.duckdb", snapshot / ".snapshot-dead1234abcd.duckdb.wal"]
    for path in stale:
        path.write_bytes(b"half written")
    (snapshot / ".parquet-dead1234abcd").mkdir()
    (snapshot / ".parquet-dead1234abcd" / "dim_patient.parquet").write_bytes(b"x")
    (snapshot / ".parquet-old-dead1234abcd").mkdir()
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        publish_snapshot(con, snapshot)
    assert sorted(p.name for p in snapshot.iterdir()) == ["parquet", "snapshot.duckdb"]
