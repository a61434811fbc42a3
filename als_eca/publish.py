"""Publish the marts as a read-only snapshot for analysts: a separate DuckDB file swapped in atomically, plus
Parquet files.

An analyst's open connection holds the previous snapshot file (on POSIX the replaced inode stays readable), so a
pipeline run never waits for an analyst and an analyst never sees a half-built mart.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

STORAGE_VERSION = "v1.0.0"


@dataclass
class Snapshot:
    database: Path
    parquet_dir: Path
    tables: dict[str, int]  # table -> rows


_STALE = (".snapshot-*.duckdb", ".snapshot-*.duckdb.wal", ".parquet-*")


def remove_stale_temporaries(snapshot_dir: Path) -> list[Path]:
    """Temporary files of a publish that was killed before its swap (`.snapshot-<token>.duckdb(.wal)`,
    `.parquet-<token>/`, `.parquet-old-<token>/`). Publishes run one at a time (the duckdb_writer pool), so any
    such file at the start of a publish is stale."""
    removed = []
    for pattern in _STALE:
        for path in snapshot_dir.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def publish_snapshot(con: duckdb.DuckDBPyConnection, snapshot_dir: Path, schema: str = "marts") -> Snapshot:
    """Copy every table of `schema` from the open warehouse connection into a new snapshot, then swap it in."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(snapshot_dir)
    token = uuid.uuid4().hex[:12]
    tmp_db = snapshot_dir / f".snapshot-{token}.duckdb"
    tmp_parquet = snapshot_dir / f".parquet-{token}"
    tmp_parquet.mkdir()
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_catalog = "
            "current_database() order by table_name",
            [schema],
        ).fetchall()
    ]
    counts: dict[str, int] = {}
    alias = f"snapshot_{token}"
    # An older storage format: the DuckDB CLI (make sql) and analysts' own DuckDB clients can open the file.
    con.execute(f"attach '{tmp_db}' as {alias} (storage_version '{STORAGE_VERSION}')")
    try:
        con.execute(f"create schema {alias}.{schema}")
        for table in tables:
            con.execute(f"create table {alias}.{schema}.{table} as select * from {schema}.{table}")
            con.execute(f"copy {schema}.{table} to '{tmp_parquet / (table + '.parquet')}' (format parquet)")
            counts[table] = con.execute(f"select count(*) from {alias}.{schema}.{table}").fetchone()[0]
    finally:
        con.execute(f"detach {alias}")

    database = snapshot_dir / "snapshot.duckdb"
    os.replace(tmp_db, database)  # atomic on POSIX: readers see the old or the new file, never a mix
    parquet_dir = snapshot_dir / "parquet"
    old = snapshot_dir / f".parquet-old-{token}"
    if parquet_dir.exists():
        os.replace(parquet_dir, old)
    os.replace(tmp_parquet, parquet_dir)
    shutil.rmtree(old, ignore_errors=True)
    return Snapshot(database=database, parquet_dir=parquet_dir, tables=counts)
