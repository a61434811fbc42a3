"""Quarantine cascades to the patient: when a source's patient record is quarantined (a PMS `dm.csv` row, a
PRO-ACT DEMOGRAPHICS row), that patient's rows in the source's other tables are held back too, with the reason
"patient quarantined in <file> line N". PMS rows whose patient has no `dm.csv` record at all are held back as well:
without it they cannot be placed in time (no first injection) and would break every relationship downstream.

The patients held back are read from what is already loaded (the `raw.<patient table>_quarantined` view over
`raw.quarantine`), so the patient table is loaded first (discover.py); dbt reads the same view to exclude these
patients from the cohort for data quality."""

from __future__ import annotations

import duckdb

from als_eca.ingest.loader import HeldBack, raw_table_exists
from als_eca.ingest.schemas import PATIENT_TABLES, TableSchema


def held_back_patients(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> HeldBack | None:
    """What `schema`'s rows are held back for; None for the patient table itself or before anything is loaded."""
    parent = PATIENT_TABLES[schema.source]
    if schema.table == parent or not raw_table_exists(con, f"{parent}_quarantined"):
        return None
    rows = con.execute(
        f"SELECT subject_id, 'patient quarantined in ' || file || ' line ' || line FROM raw.{parent}_quarantined"
    ).fetchall()
    parent_file = con.execute("SELECT file FROM raw.load_audit WHERE source_table = ?", [parent]).fetchone()
    # PMS: every row needs its patient in dm.csv. PRO-ACT subjects outside DEMOGRAPHICS are kept (the download's
    # files hold overlapping subsets of subjects; the intermediate layer combines them).
    require_parent = schema.source == "pms" and raw_table_exists(con, parent)
    return HeldBack(dict(rows), parent if require_parent else None, parent_file[0] if parent_file else None)
