"""The Dagster code location: only assembles the stages (raw → dbt → analysis → publish) and their checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from als_eca.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Assemble every stage for `settings` (default: the environment's). Called when the code location loads and by
    `als-eca run` (builds the dbt manifest if stale). The paths reach assets, checks, sensors and the dbt profile
    only through the resources built here."""
    from als_eca.settings import get_settings
    from orchestration.alerts import alert_sensors
    from orchestration.analysis import analysis_assets, analysis_checks
    from orchestration.analysis_io import ANALYSIS_IO_MANAGER, analysis_io_manager
    from orchestration.checks import gx_checks
    from orchestration.dbt import TRANSLATOR, build_dbt_assets, dbt_project
    from orchestration.dbt_checks import build_dbt_checks
    from orchestration.dbt_runner import dbt_resource
    from orchestration.jobs import jobs
    from orchestration.progress import progress_logger
    from orchestration.publish import build_identifier_checks, build_snapshot_asset
    from orchestration.raw import raw_assets
    from orchestration.resources import SourcesResource, StudyResource, WarehouseResource
    from orchestration.schedules import schedules
    from orchestration.sensors import sensors

    settings = settings or get_settings()
    dbt_assets = build_dbt_assets(settings.warehouse)
    mart_keys = sorted((k for k in dbt_assets.keys if k.path[0] == "marts"), key=lambda k: k.path)
    assets = [*raw_assets, dbt_assets, build_snapshot_asset(mart_keys), *analysis_assets]
    keys = {key for a in assets for key in a.keys}
    return dg.Definitions(
        assets=assets,
        asset_checks=[*build_dbt_checks(dbt_project(settings.warehouse).manifest_path, TRANSLATOR),
                      *(c for c in gx_checks if all(k.asset_key in keys for k in c.check_keys)), *analysis_checks,
                      *build_identifier_checks(mart_keys)],
        jobs=jobs,
        schedules=schedules,
        sensors=[*sensors, *alert_sensors],
        resources={
            "warehouse": WarehouseResource(path=str(settings.warehouse), snapshot_dir=str(settings.snapshot_dir)),
            "sources": SourcesResource(proact_dir=str(settings.proact_dir), pms_dir=str(settings.pms_dir),
                                       pms_as_of=settings.pms_as_of.isoformat() if settings.pms_as_of else ""),
            "study": StudyResource(path=str(settings.study)),
            "dbt": dbt_resource(settings.warehouse),
            ANALYSIS_IO_MANAGER: analysis_io_manager,  # analysis step outputs, in <warehouse dir>/analysis/
        },
        # One DuckDB file, one writer: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
