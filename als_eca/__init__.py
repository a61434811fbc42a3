"""The platform library under the Dagster wiring: ingestion (files -> raw tables), the study (marts -> results,
report), the analysts' snapshot, settings and the writer lock. Never imports Dagster."""
