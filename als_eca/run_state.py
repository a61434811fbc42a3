"""What decides "up to date": a record in the warehouse itself (`ops.run_state`), so every run path sees it.

Any connection that may write the warehouse clears it when it opens (the Dagster warehouse resource does this for
every step of every run: CLI, UI, schedule, sensor), and only `als-eca run` writes it, after a run has fully
succeeded. A run that fails midway therefore leaves no record, and the next `als-eca run` rebuilds."""

from __future__ import annotations

from pathlib import Path

import duckdb

_DDL = ("CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE IF NOT EXISTS ops.run_state "
        "(run_id VARCHAR, fingerprint VARCHAR, finished_at TIMESTAMP)")


def invalidate(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse is about to change: whatever run it was up to date with no longer describes it."""
    con.execute(_DDL)
    con.execute("DELETE FROM ops.run_state")


def record_success(warehouse: Path, run_id: str, fingerprint: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        invalidate(con)
        con.execute("INSERT INTO ops.run_state VALUES (?, ?, now())", [run_id, fingerprint])


def last_success(warehouse: Path) -> tuple[str, str] | None:
    """(run id, fingerprint) of the last fully successful run, if nothing has written the warehouse since."""
    if not Path(warehouse).is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute("SELECT run_id, fingerprint FROM ops.run_state LIMIT 1").fetchone()
    except duckdb.Error:  # no record yet, an older warehouse, or a run holding it: not up to date
        return None
    return (row[0], row[1]) if row else None
