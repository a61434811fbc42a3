"""The Dagster code location: only assembles the stages (raw → dbt → analysis → report) and their checks."""

from __future__ import annotations

import dagster as dg


def build_definitions() -> dg.Definitions:
    """Assemble every stage. Called when the code location loads (builds the dbt manifest if stale)."""
    from als_eca.settings import get_settings

    from orchestration.dbt import build_dbt_assets, dbt_resource
    from orchestration.raw import raw_assets, raw_checks
    from orchestration.resources import WarehouseResource

    settings = get_settings()
    return dg.Definitions(
        assets=[*raw_assets, build_dbt_assets()],
        asset_checks=[*raw_checks],
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "dbt": dbt_resource(),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
