"""The Dagster code location: only assembles the stages (raw → dbt → analysis → publish) and their checks."""

import dagster as dg


def build_definitions() -> dg.Definitions:
    """Assemble every stage. Called when the code location loads (builds the dbt manifest if stale)."""
    from als_eca.settings import get_settings
    from orchestration.analysis import analysis_assets, analysis_checks
    from orchestration.analysis_io import ANALYSIS_IO_MANAGER, analysis_io_manager
    from orchestration.checks import gx_checks
    from orchestration.dbt import build_dbt_assets, dbt_resource
    from orchestration.publish import build_identifier_checks, build_snapshot_asset
    from orchestration.raw import raw_assets
    from orchestration.resources import SourcesResource, WarehouseResource
    from orchestration.schedules import schedules
    from orchestration.sensors import sensors

    settings = get_settings()
    dbt_assets = build_dbt_assets()
    mart_keys = sorted((k for k in dbt_assets.keys if k.path[0] == "marts"), key=lambda k: k.path)
    assets = [*raw_assets, dbt_assets, build_snapshot_asset(mart_keys, str(settings.snapshot_dir)), *analysis_assets]
    keys = {key for a in assets for key in a.keys}
    return dg.Definitions(
        assets=assets,
        asset_checks=[*(c for c in gx_checks if all(k.asset_key in keys for k in c.check_keys)), *analysis_checks,
                      *build_identifier_checks(mart_keys, str(settings.snapshot_dir))],
        schedules=schedules,
        sensors=sensors,
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
            "sources": SourcesResource(proact_dir=str(settings.proact_dir), pms_dir=str(settings.pms_dir)),
            "dbt": dbt_resource(),
            ANALYSIS_IO_MANAGER: analysis_io_manager,  # analysis step outputs, in <warehouse dir>/analysis/
        },
        # One DuckDB file, one writer: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
