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


CODE_DIRS = ("cli", "als_eca", "analytics", "orchestration", "expectations", "dbt_project/models", "dbt_project/macros",
             "dbt_project/seeds")


def inputs_fingerprint(settings) -> str:
    """What a run's result depends on: every source file (name, size, modification time) and the code (every
    Python, SQL and YAML file of the pipeline, by content). Cheap: no data file is read."""
    import hashlib

    digest = hashlib.sha256()
    for folder in (settings.proact_dir, settings.pms_dir):
        folder = Path(folder)
        files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file()) \
            if folder.is_dir() else []
        for path in files:
            stat = path.stat()
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    for folder in CODE_DIRS:
        for path in sorted((settings.repo_root / folder).rglob("*")):
            if path.suffix in (".py", ".sql", ".yml", ".csv") and "target" not in path.parts:
                digest.update(path.read_bytes())
    digest.update(str(settings.warehouse).encode())
    return digest.hexdigest()


def up_to_date(settings) -> str | None:
    """The id of the last successful run if nothing it depended on has changed since and no run has written the
    warehouse after it (the record lives in the warehouse: orchestration/run_state.py)."""
    last = last_success(settings.warehouse)
    return last[0] if last and last[1] == inputs_fingerprint(settings) else None
