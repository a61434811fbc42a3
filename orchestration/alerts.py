"""Failure alerts: a sensor for failed runs and one for failed blocking checks, both thin glue over als_eca/alerts.py
(which records each alert in `ops.alerts` and POSTs it to ALS_ECA_ALERT_WEBHOOK when that is set).

Runs of this code location's jobs launched by the UI, the schedule or a sensor are seen by the daemon; `als-eca run`
runs in its own process and reports its failure on the terminal (exit code 1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType

from als_eca.alerts import Alert, Outcome, notify_and_record, record
from als_eca.settings import alert_webhook
from orchestration.errors import innermost_error
from orchestration.resources import WarehouseResource

CHECK_FETCH_LIMIT = 500  # check evaluations read per tick; the cursor carries on from there on the next tick


def _time(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def error_text(error) -> str:
    """The innermost chained error (the path, the file and line, the failed check), whole but on one line, without
    Dagster's own exception class ("dagster._core.errors.DagsterAssetCheckFailedError: ")."""
    if error is None:
        return "failed without an error message"
    error = innermost_error(error)
    text = " ".join(line.strip() for line in (error.message or error.cls_name or "failed").splitlines() if line.strip())
    return re.sub(r"^dagster\.[\w.]+: ", "", text)


def _step_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, list[str]]:
    """step key -> the asset keys it materialises or checks ("raw/pms_dm"), from the run's own execution plan (the
    daemon has the run, not necessarily the code that made it)."""

    def asset(properties) -> dg.AssetKey | None:  # an asset's output, or a check's (the asset it checks)
        check = properties.asset_check_key if properties else None
        return properties.asset_key if properties and properties.asset_key else (check.asset_key if check else None)

    snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) \
        if run.execution_plan_snapshot_id else None
    return {step.key: sorted({key.to_user_string() for o in step.outputs if (key := asset(o.properties))})
            for step in (snapshot.steps if snapshot else [])}


def run_failure_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Alert]:
    """One alert per failed step (its asset when the step makes one asset, its root cause, when it failed); a run
    that failed outside any step (a resource, the launcher) is one alert with the run's failure."""
    steps = _step_assets(instance, run)
    alerts = []
    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        assets = steps.get(event.step_key, [])
        # A multi-asset step (dbt) does not say which of its assets failed: the alert names the step.
        asset = assets[0] if len(assets) == 1 else (f"{event.step_key} ({len(assets)} assets)" if assets else None)
        alerts.append(Alert("run_failure", run.run_id, run.job_name, f"{event.step_key}: "
                            f"{error_text(event.step_failure_data.error)}", _time(entry.timestamp), asset_key=asset))
    if not alerts:
        failures = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
        entry = failures[-1] if failures else None
        data = entry.dagster_event.event_specific_data if entry else None
        message = error_text(data.error) if data is not None and data.error else (
            entry.dagster_event.message if entry else "run failed")
        run_record = instance.get_run_record_by_id(run.run_id)
        occurred = entry.timestamp if entry else (run_record.end_time if run_record else None)
        alerts.append(Alert("run_failure", run.run_id, run.job_name, message,
                            _time(occurred) if occurred else datetime.now(UTC)))
    return alerts


def _log(log, outcome: Outcome) -> None:
    for row in outcome.rows:
        if row["delivered"] is False:  # a webhook that is down is a warning, never a failed sensor
            log.warning(f"alert {row['alert_id']} ({row['kind']}, run {row['run_id']}) not delivered: "
                        f"{row['webhook_status']}")
    if not outcome.recorded:
        log.warning("the warehouse is busy: the alert rows are written by the next evaluation of "
                    "blocking_check_failure_alert")


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run of this code location in ops.alerts (run, failed step's asset, root "
                "cause, time) and POSTs it to ALS_ECA_ALERT_WEBHOOK when set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    alerts = run_failure_alerts(context.instance, context.dagster_run)
    _log(context.log, notify_and_record(Path(warehouse.path), alerts, alert_webhook()))


def check_failure_alert(entry, asset_graph=None) -> Alert | None:
    """The alert for a failed blocking check's evaluation (an event log entry); None for a pass or a warning. The
    check's own description (from `asset_graph`, when the code is at hand) says what failed."""
    evaluation = entry.dagster_event.event_specific_data
    if evaluation.passed or not evaluation.blocking or evaluation.severity != dg.AssetCheckSeverity.ERROR:
        return None
    key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
    spec = asset_graph.get_check_spec(key) if asset_graph and key in asset_graph.asset_check_keys else None
    # Numbers and short texts only: failing-row samples and findings tables (patient rows) stay in the UI.
    facts, details = [], []
    for name, value in evaluation.metadata.items():
        short = isinstance(value.value, (int, float, bool)) or (
            isinstance(value.value, str) and len(value.value) <= 200 and "\n" not in value.value)
        if short:
            facts.append(f"{name}: {value.value}")
        else:
            details.append(name)
    message = "; ".join([evaluation.description or (spec.description if spec else None) or "failed", *facts]
                        + ([f"details in the Dagster UI: {', '.join(details)}"] if details else []))
    return Alert("check_failure", entry.run_id, entry.dagster_event.job_name, message, _time(entry.timestamp),
                 asset_key=evaluation.asset_key.to_user_string(), check_name=evaluation.check_name)


@dg.sensor(
    name="blocking_check_failure_alert",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed blocking (error) asset check in ops.alerts (run, asset, check, message, time) "
                "and POSTs it to ALS_ECA_ALERT_WEBHOOK when set; warnings are not alerts.",
)
def blocking_check_failure_alert(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    storage = context.instance.event_log_storage
    if context.cursor is None:
        # First evaluation: the failures already in the instance's history are not news (a run_failure_sensor
        # likewise starts from its first tick).
        latest = storage.get_maximum_record_id() or 0
        context.update_cursor(str(latest))
        return dg.SkipReason(f"baseline: check evaluations after event {latest} will be alerted")
    after = int(context.cursor)
    # By storage id from the event log's index (which holds every check evaluation, sqlite's run-sharded storage
    # included), so each evaluation is seen once.
    entries = storage.get_logs_for_all_runs_by_log_id(
        after_cursor=after, dagster_event_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=CHECK_FETCH_LIMIT)
    graph = context.repository_def.asset_graph if context.repository_def else None
    alerts = [alert for entry in entries.values() if (alert := check_failure_alert(entry, graph))]
    if alerts:
        _log(context.log, notify_and_record(Path(warehouse.path), alerts, alert_webhook()))
    elif not record(Path(warehouse.path), []):  # rows left pending by a busy warehouse
        context.log.warning("the warehouse is still busy: pending alert rows wait for the next evaluation")
    context.update_cursor(str(max(entries, default=after)))
    return dg.SkipReason(f"{len(alerts)} failed blocking check(s) alerted" if alerts
                         else "no failed blocking check since the last evaluation")


alert_sensors = [run_failure_alert, blocking_check_failure_alert]
