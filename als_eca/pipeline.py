"""`als-eca run`: materialise the whole asset graph in this process (what `make demo` and the scheduler run)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunSummary:
    success: bool
    run_id: str
    materialised: list[str]
    failed_checks: list[str]  # "asset_key:check_name (severity)"
    checks_evaluated: int
    failure: str | None
    warehouse: Path
    snapshot: Path | None = None
    report: Path | None = None


def run_pipeline(
    proact: Path | None = None,
    pms: Path | None = None,
    warehouse: Path | None = None,
    log_level: str = "INFO",
) -> RunSummary:
    """Run raw → dbt → analysis → report once. Overrides are passed to the graph through the same environment
    variables the code location reads, so `dagster dev` and this command see identical settings."""
    for variable, value in (("ALS_ECA_PROACT_DIR", proact), ("ALS_ECA_PMS_DIR", pms), ("ALS_ECA_WAREHOUSE", warehouse)):
        if value is not None:
            os.environ[variable] = str(Path(value).resolve())

    import dagster as dg

    from als_eca.settings import get_settings
    from orchestration.definitions import build_definitions

    settings = get_settings()
    job = build_definitions().resolve_implicit_global_asset_job_def()
    # A persistent instance (DAGSTER_HOME, set by the Makefile) keeps the run's history for the UI.
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )
    materialised = sorted(
        e.asset_key.to_user_string() for e in result.get_asset_materialization_events() if e.asset_key
    )
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name} ({e.severity.value})"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    failure = None
    if not result.success:
        failures = [ev for ev in result.all_events if ev.is_step_failure]
        failure = "; ".join(
            f"{ev.step_key}: {ev.step_failure_data.error.message.strip() if ev.step_failure_data.error else ''}"
            for ev in failures
        ) or "run failed"
    checks = len(result.get_asset_check_evaluations())
    return RunSummary(
        result.success, result.run_id, materialised, failed, checks, failure, settings.warehouse,
        snapshot=settings.snapshot_dir / "snapshot.duckdb",
        report=settings.warehouse.resolve().parent / "report" / "study_report.html",
    )
