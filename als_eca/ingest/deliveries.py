"""Cumulative PMS exports compared: what a new delivery removed, changed or added, per domain.

Exports only grow: every delivery repeats all earlier records, with corrections. Before a new export replaces the
raw PMS tables, each record's identity (patient pseudonym, domain sequence number) and content hash is kept in
`raw.pms_delivery_previous`; after the load, `raw.pms_delivery_changes` lists every record that disappeared,
changed or was added, and `raw.pms_delivery_comparison` counts them per domain. Records that disappeared are what
a data manager must see (a warning check shows them).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from als_eca.ingest.loader import raw_table_exists
from als_eca.ingest.schemas import PMS_TABLES, TableSchema

_SEQ = {t.table: next((c.name for c in t.columns if c.name.endswith("SEQ")), None) for t in PMS_TABLES}


def _fingerprints(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> str:
    """SQL: (domain, subject_id, seq, row_hash) of every record now in the raw table."""
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
        "AND column_name NOT IN ('_source_file', '_source_line') ORDER BY ordinal_position", [schema.table]).fetchall()]
    seq = _SEQ[schema.table]
    content = ", ".join(f'"{c}"' for c in cols)
    return (f"SELECT '{schema.name}' AS domain, USUBJID AS subject_id, "
            f"{f'CAST({seq} AS BIGINT)' if seq else 'NULL::BIGINT'} AS seq, hash({content}) AS row_hash "
            f"FROM raw.{schema.table}")


def previous_export(con: duckdb.DuckDBPyConnection) -> str | None:
    """The export folder the raw PMS tables were loaded from (from the load audit), if any."""
    if not raw_table_exists(con, "load_audit"):
        return None
    row = con.execute("SELECT path FROM raw.load_audit WHERE source_table = 'pms_dm'").fetchone()
    return Path(row[0]).parent.name if row and row[0] else None


def keep_previous(con: duckdb.DuckDBPyConnection, current_export: str) -> str | None:
    """Before an export is loaded: keep the fingerprints of what is loaded now (returns its export name). A reload
    of the same export keeps the earlier comparison basis: the newest export is always compared with the one
    before it, however often it is reloaded."""
    export = previous_export(con)
    if export is None or not all(raw_table_exists(con, t.table) for t in PMS_TABLES):
        return None
    if export == current_export:
        return None
    union = " UNION ALL ".join(_fingerprints(con, t) for t in PMS_TABLES)
    con.execute(f"CREATE OR REPLACE TABLE raw.pms_delivery_previous AS SELECT $export AS export, * FROM ({union})",
                {"export": export})
    return export


def compare(con: duckdb.DuckDBPyConnection, current_export: str) -> tuple[str | None, list[tuple]]:
    """After the load: the changes against the kept fingerprints; returns the export compared with (None for the
    first delivery) and (domain, change, patients, records) rows."""
    union = " UNION ALL ".join(_fingerprints(con, t) for t in PMS_TABLES)
    if not raw_table_exists(con, "pms_delivery_previous"):  # the first delivery: nothing to compare it with
        union = f"SELECT * FROM ({union}) WHERE false"
        previous = ("SELECT NULL::VARCHAR AS domain, NULL::VARCHAR AS subject_id, NULL::BIGINT AS seq, "
                    "NULL::UBIGINT AS row_hash, NULL::VARCHAR AS export WHERE false")
    else:
        previous = "SELECT domain, subject_id, seq, row_hash, export FROM raw.pms_delivery_previous"
    con.execute(
        f"""CREATE OR REPLACE TABLE raw.pms_delivery_changes AS
            WITH prev AS ({previous}), cur AS ({union}),
                 joined AS (SELECT coalesce(p.domain, c.domain) AS domain,
                                   coalesce(p.subject_id, c.subject_id) AS subject_id,
                                   coalesce(p.seq, c.seq) AS seq,
                                   CASE WHEN c.row_hash IS NULL THEN 'disappeared'
                                        WHEN p.row_hash IS NULL THEN 'added'
                                        WHEN p.row_hash <> c.row_hash THEN 'changed' END AS change
                            FROM prev AS p FULL JOIN cur AS c
                                 ON p.domain = c.domain AND p.subject_id = c.subject_id
                                    AND p.seq IS NOT DISTINCT FROM c.seq)
            SELECT (SELECT any_value(export) FROM prev) AS previous_export, $current AS current_export,
                   domain, change, subject_id, seq
            FROM joined WHERE change IS NOT NULL
            ORDER BY domain, change, subject_id, seq""",
        {"current": current_export},
    )
    con.execute(
        """CREATE OR REPLACE TABLE raw.pms_delivery_comparison AS
           SELECT any_value(previous_export) AS previous_export, any_value(current_export) AS current_export,
                  domain, change, count(DISTINCT subject_id) AS patients, count(*) AS records
           FROM raw.pms_delivery_changes GROUP BY domain, change ORDER BY domain, change""")
    previous = (con.execute("SELECT any_value(export) FROM raw.pms_delivery_previous").fetchone()[0]
                if raw_table_exists(con, "pms_delivery_previous") else None)
    return previous, con.execute("SELECT domain, change, patients, records FROM raw.pms_delivery_comparison").fetchall()
