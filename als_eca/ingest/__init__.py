"""Ingestion library: the raw-layer schema contract, file discovery, the DuckDB loader with quarantine and audit,
PMS pseudonymisation and manifest reconciliation. Dagster wraps it in orchestration/raw.py."""

from __future__ import annotations

from pathlib import Path

import duckdb

from als_eca.ingest.cascade import held_back_patients
from als_eca.ingest.checksum import file_stats
from als_eca.ingest.discover import SourceFile, discover_pms, discover_proact, newest_pms_export
from als_eca.ingest.loader import IngestError, LoadResult, empty_table, load_file
from als_eca.ingest.manifest import export_encoding, read_manifest, reconcile
from als_eca.ingest.pseudonym import pseudonym_key

__all__ = ["IngestError", "LoadResult", "SourceFile", "discover_pms", "discover_proact", "load_all", "load_source",
           "newest_pms_export"]


def load_source(con: duckdb.DuckDBPyConnection, source: SourceFile) -> LoadResult:
    """Load one discovered file (or an empty table for an absent optional file); PMS files are reconciled with
    their export's manifest first. Rows of patients quarantined in the source's patient table are held back."""
    schema, path = source.schema, source.path
    if path is None:
        if schema.source == "pms" and source.expected is not None:
            listed = read_manifest(source.expected.parent)["files"]
            if source.expected.name in listed:  # a half-copied export: the manifest promises the file
                raise IngestError(source.expected, "listed in manifest.json but missing from the export")
        if schema.required_file:
            raise IngestError(source.expected or f"{schema.source}/{schema.name}", source.absent_message)
        return empty_table(con, schema)
    encoding, stats = "utf-8", None
    if schema.source == "pms":  # counted and hashed once: for the manifest, then for the load's audit
        stats = file_stats(path)
        reconcile(path.parent, path.name, stats)
        encoding = export_encoding(path.parent)
    return load_file(con, schema, path, key=pseudonym_key() if schema.pseudonymised else None,
                     held_back=held_back_patients(con, schema), encoding=encoding, stats=stats)


def load_all(con: duckdb.DuckDBPyConnection, proact_dir: Path, pms_dir: Path) -> list[LoadResult]:
    """Every raw table from the two source folders (what the raw Dagster assets do, for scripts and tests)."""
    return [load_source(con, s) for s in (*discover_proact(proact_dir), *discover_pms(pms_dir))]
