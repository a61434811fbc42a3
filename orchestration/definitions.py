"""The Dagster code location: only assembles the stages (raw → dbt → analysis → report) and their checks."""

from __future__ import annotations

import dagster as dg


def build_definitions() -> dg.Definitions:
    """Assemble every stage. Called when the code location loads (builds the dbt manifest if stale)."""
    from als_eca.settings import get_settings
    from orchestration.checks import gx_checks
    from orchestration.raw import raw_assets
    from orchestration.resources import SourcesResource, WarehouseResource
    from orchestration.schedules import schedules
    from orchestration.sensors import sensors

    settings = get_settings()
    assets = [*raw_assets]
    keys = {key for a in assets for key in a.keys}
    return dg.Definitions(
        assets=assets,
        asset_checks=[c for c in gx_checks if all(k.asset_key in keys for k in c.check_keys)],
        schedules=schedules,
        sensors=sensors,
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "sources": SourcesResource(proact_dir=str(settings.proact_dir), pms_dir=str(settings.pms_dir)),
        },
        # One DuckDB file, one writer: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
