"""The file formats the generator writes. Column lists come from the loader's schema contract
(als_eca/ingest/schemas.py), so what the generator writes and what the loader expects cannot drift apart."""

from __future__ import annotations

from als_eca.ingest.schemas import pms_columns, proact_columns

PROACT_COLUMNS: dict[str, list[str]] = proact_columns()


def proact_file_name(form: str) -> str:
    return f"PROACT_{form}.csv"


PMS_COLUMNS: dict[str, list[str]] = pms_columns()

QS_ITEMS = [
    ("ALSFRS01", "Speech"), ("ALSFRS02", "Salivation"), ("ALSFRS03", "Swallowing"), ("ALSFRS04", "Handwriting"),
    ("ALSFRS05", "Cutting food and handling utensils"), ("ALSFRS06", "Dressing and hygiene"),
    ("ALSFRS07", "Turning in bed and adjusting bed clothes"), ("ALSFRS08", "Walking"),
    ("ALSFRS09", "Climbing stairs"), ("ALSFRS10", "Dyspnea"), ("ALSFRS11", "Orthopnea"),
    ("ALSFRS12", "Respiratory insufficiency"),
]
