"""`als-eca run`: materialise the whole asset graph in this process (what `make demo` and the scheduler run)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from orchestration.errors import root_cause


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
    up_to_date: bool = False  # nothing changed since the last successful run, so nothing was run
    job: str = "refresh_all"  # refresh_pms when only the PMS exports changed since the last successful run


def run_pipeline(
    proact: Path | None = None,
    pms: Path | None = None,
    warehouse: Path | None = None,
    log_level: str = "INFO",
    force: bool = True,
    wait: bool = True,
    on_wait=None,
    skip: Sequence[str] = (),
    study: Path | None = None,
    verbose: bool = True,
    pms_as_of: date | str | None = None,
) -> RunSummary:
    """Run raw → dbt → analysis → report once. The paths given here override the environment's; they reach every
    asset, check and the dbt profile through the resources of the definitions built for this run. `skip` (asset
    keys such as "analysis/study_report") leaves those assets and everything downstream of them out (the
    simulation audit needs the cohort and the matched analyses, not the report); such a partial run is not
    recorded as the warehouse's last successful run. `study`: the study spec (default ALS_ECA_STUDY, else
    studies/nam2023.yml), validated before anything runs (als_eca.study.spec.StudySpecError). `verbose`: Dagster's
    console log at `log_level` (with dbt's line per node); else one line per finished step (`progress`).
    `pms_as_of` (default ALS_ECA_PMS_AS_OF): load the newest PMS export on or before that date, an earlier data cut."""
    import dagster as dg

    from als_eca.ingest.discover import newest_pms_export
    from als_eca.settings import get_settings, preflight
    from als_eca.study.spec import load_study
    from als_eca.warehouse_lock import warehouse_lock
    from orchestration.checks import warm_up_gx
    from orchestration.definitions import build_definitions
    from orchestration.jobs import PMS_BRANCH
    from orchestration.run_state import check, record_success, up_to_date

    settings = get_settings(proact=proact, pms=pms, warehouse=warehouse, study=study, pms_as_of=pms_as_of)
    preflight(settings)  # a missing folder or an unusable warehouse path: one line, nothing written
    if settings.pms_as_of:  # no export on or before the cut's date: the dates found, nothing written
        newest_pms_export(settings.pms_dir, settings.pms_as_of)
    load_study(settings.study)  # a study spec that does not validate: its keys and allowed values, nothing written
    skipped = RunSummary(True, "", [], [], 0, None, settings.warehouse, up_to_date=True,
                         snapshot=settings.snapshot_dir / "snapshot.duckdb", report=_report_path(settings))
    if not force and (previous := up_to_date(settings)):
        return replace(skipped, run_id=previous)
    # GX's worker process starts importing Great Expectations now, on the other core, while the definitions are
    # built and the raw files load: its suites follow the raw loads (orchestration.checks.warm_up_gx).
    warm_up_gx()
    definitions = build_definitions(settings)
    skipped_keys = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in skip)).downstream()
    # A persistent instance (DAGSTER_HOME, set by the Makefile) keeps the run's history for the UI.
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    # One writer: the whole run holds the warehouse lock (a second run waits, or fails at once with --no-wait).
    with warehouse_lock(settings.warehouse, wait=wait, on_wait=on_wait or (lambda m: print(m, file=sys.stderr))):
        # Decided again under the lock (a run may just have ended); the fingerprint is taken before the run, so a
        # file changed during it reruns.
        state = check(settings)
        if not force and state.previous:
            return replace(skipped, run_id=state.previous)
        # Only a new PMS export since the last successful run: rebuild what depends on the PMS data (refresh_pms),
        # not PRO-ACT's raw tables and models. --force rebuilds everything.
        pms_only = not force and state.only_pms_changed
        job = definitions.resolve_job_def("refresh_pms" if pms_only else "refresh_all")
        wanted = PMS_BRANCH if pms_only else dg.AssetSelection.all()
        selection = list((wanted - skipped_keys).resolve(definitions.resolve_asset_graph())) if skip else None
        loggers = {"console": {"config": {"log_level": log_level}}} if verbose else {"progress": {}}
        result = job.execute_in_process(
            instance=instance,
            run_config={"loggers": loggers},
            raise_on_error=False,
            asset_selection=selection,
        )
        if result.success and not skip:  # (still under the lock: no other run can have written in between)
            record_success(settings.warehouse, result.run_id, state.fingerprint, state.prints, state.base)
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
        failure = "; ".join(f"{ev.step_key}: {root_cause(ev.step_failure_data.error)}" for ev in failures) \
            or "run failed"
    checks = len(result.get_asset_check_evaluations())
    return replace(skipped, success=result.success, run_id=result.run_id, materialised=materialised,
                   failed_checks=failed, checks_evaluated=checks, failure=failure, up_to_date=False, job=job.name)


def _report_path(settings) -> Path:
    return settings.warehouse.resolve().parent / "report" / "study_report.html"
