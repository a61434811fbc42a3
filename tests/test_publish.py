"""The analyst snapshot: a copy of the marts swapped in atomically; open readers keep a consistent view."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from als_eca.publish import publish_snapshot


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
        tables = reader.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    assert sorted(t[0] for t in tables) == ["marts.dim_patient", "marts.fct_visit"]
    assert len(pd.read_parquet(snap.parquet_dir / "dim_patient.parquet")) == 100
    assert not list((tmp_path / "snapshot").glob(".*")), "temporary files left behind"


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


@pytest.mark.skipif(shutil.which("duckdb") is None, reason="DuckDB CLI not installed")
def test_the_duckdb_shell_of_make_sql_opens_the_snapshot(tmp_path):
    with _warehouse(tmp_path / "w.duckdb", 1) as con:
        snap = publish_snapshot(con, tmp_path / "snapshot")
    out = subprocess.run(
        ["duckdb", "-readonly", "-csv", str(snap.database), "-c", "SELECT count(*) AS n FROM marts.dim_patient"],
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
