"""The raw tables are stated once, in the schema contract (als_eca/ingest/schemas.py): dbt's sources file is
generated from it, and every raw table has its staging model."""

import re

from als_eca.ingest.dbt_sources import SOURCES_YML, render
from als_eca.ingest.schemas import ALL_TABLES, PATIENT_TABLES
from als_eca.settings import DBT_PROJECT_DIR


def test_the_committed_sources_file_is_the_one_generated_from_the_contract():
    assert SOURCES_YML.read_text(encoding="utf-8") == render(), (
        "dbt_project/models/staging/_sources.yml differs from the schema contract: "
        "run `python -m als_eca.ingest.dbt_sources`")


def test_every_raw_table_has_a_staging_model_and_every_source_reference_is_in_the_contract():
    staging = DBT_PROJECT_DIR / "models" / "staging"
    models = {p.stem for p in staging.rglob("*.sql")}
    contract = {s.table for s in ALL_TABLES} | {f"{t}_quarantined" for t in PATIENT_TABLES.values()}
    for table in contract:
        source, _, name = table.partition("_")
        assert f"stg_{source}__{name}" in models, table
    referenced = {m for p in DBT_PROJECT_DIR.joinpath("models").rglob("*.sql")
                  for m in re.findall(r"source\(\s*'raw'\s*,\s*'(\w+)'\s*\)", p.read_text())}
    assert referenced and referenced <= contract, referenced - contract
