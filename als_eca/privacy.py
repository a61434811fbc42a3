"""A scan of every table and view a DuckDB user can read, for PMS direct identifiers.

What counts: a column named like an identifier (initials, record number, site-local subject number, exact birth
date) and any text value shaped like an original PMS subject id (`NR-PMS-123-4567`). Pseudonyms (`PMS-<hex>`) and
birth years are fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

IDENTIFIER_COLUMNS = re.compile(
    r"^(subjid|patinit|initials|patient_initials|mrn|medical_record_number|brthdtc|birth_date|date_of_birth_exact"
    r"|birthdate)$",
    re.IGNORECASE,
)
ORIGINAL_ID_SQL = r"NR-PMS-[0-9]{3}-[0-9]+"


@dataclass(frozen=True)
class Finding:
    table: str
    column: str
    what: str


def scan(con: duckdb.DuckDBPyConnection, exclude_schemas: tuple[str, ...] = ("information_schema", "pg_catalog"),
         only: tuple[str, str] | None = None) -> list[Finding]:
    """Every identifier-named column and every column holding an original PMS id, across all schemas (or only in
    the table `only` = (schema, table))."""
    columns = con.execute(
        """SELECT table_catalog, table_schema, table_name, column_name, data_type
           FROM information_schema.columns
           WHERE table_schema NOT IN (SELECT unnest(?))
             AND table_catalog NOT IN ('system', 'temp')
             AND (? OR (table_schema = ? AND table_name = ?))
           ORDER BY ALL""",
        [list(exclude_schemas), only is None, *(only or (None, None))],
    ).fetchall()
    findings: list[Finding] = []
    for catalog, schema, table, column, dtype in columns:
        name = f"{schema}.{table}"
        if IDENTIFIER_COLUMNS.match(column):
            findings.append(Finding(name, column, "identifier column"))
        if dtype == "VARCHAR":
            hit = con.execute(
                f'SELECT 1 FROM "{catalog}"."{schema}"."{table}" WHERE regexp_matches("{column}", ?) LIMIT 1',
                [ORIGINAL_ID_SQL],
            ).fetchone()
            if hit:
                findings.append(Finding(name, column, "original PMS subject id"))
    return findings
