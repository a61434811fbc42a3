"""dbt's list of raw tables (`dbt_project/models/staging/_sources.yml`), generated from the schema contract, so the
raw tables are stated once (schemas.py). `python -m als_eca.ingest.dbt_sources` rewrites the file;
tests/ingest/test_dbt_sources.py holds the committed file equal to what this writes."""

from __future__ import annotations

import json
from pathlib import Path

from als_eca.ingest.schemas import ALL_TABLES, PATIENT_TABLES, TableSchema
from als_eca.settings import DBT_PROJECT_DIR

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"

_HEADER = """\
version: 2

sources:
  - name: raw
    schema: raw
    description: >
      Raw tables loaded by the Dagster raw assets (orchestration/raw.py) from the PRO-ACT CSVs and the newest PMS
      export, one per source file, typed by the schema contract (als_eca/ingest/schemas.py). PMS patient keys are
      already pseudonymised; direct identifiers were dropped at load.
    tables:
"""
_QUARANTINED = {
    "proact": "View over raw.quarantine: PRO-ACT subjects whose DEMOGRAPHICS record was quarantined (not counting "
              "extra copies of an exact duplicate line). Their rows in the other PRO-ACT files were held back at load.",
    "pms": "View over raw.quarantine: PMS patients (pseudonyms) whose dm.csv record was quarantined (not counting extra "
           "copies of an exact duplicate line). Their rows in the other PMS domains were held back at load.",
}


def _file_name(schema: TableSchema) -> str:
    return f"PRO-ACT file PROACT_{schema.name}.csv" if schema.source == "proact" else f"PMS export file {schema.name}.csv"


def _table(name: str, description: str) -> str:
    return (f"      - name: {name}\n        description: {json.dumps(description)}\n"
            f'        meta: {{dagster: {{asset_key: ["raw", "{name}"]}}}}\n')


def render() -> str:
    """The sources file: every raw table of the contract, then the views of quarantined patients."""
    tables = [_table(s.table, f"{s.description} From the {_file_name(s)}.") for s in ALL_TABLES]
    views = [_table(f"{table}_quarantined", _QUARANTINED[source]) for source, table in PATIENT_TABLES.items()]
    return _HEADER + "".join(tables + views)


def write(path: Path = SOURCES_YML) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")
