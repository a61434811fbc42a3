"""The alert sensors (orchestration/alerts.py) in the code location: a run that fails (a raw asset on a missing
folder, a blocking identifier check on a planted original PMS id) is recorded in ops.alerts and POSTed to a local
webhook once; a second evaluation alerts nothing again; warnings are not alerts; dbt never touches `ops`."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import duckdb
from local_webhook import Webhook

from als_eca.settings import Settings
from orchestration.resources import WarehouseResource


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None,
          warehouse: WarehouseResource, defs: dg.Definitions | None = None) -> str:
    """One evaluation as the daemon makes it (cursor in, cursor out), through the sensor's own cursor machinery."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse},
                                      repository_def=defs.get_repository_def() if defs else None)
    result = sensor.evaluate_tick(context)
    assert not result.run_requests
    return result.cursor


def _alerts(warehouse) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("SELECT * FROM ops.alerts ORDER BY kind, asset_key")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_failed_run_and_a_failed_blocking_check_are_recorded_and_posted_once(tmp_path, monkeypatch):
    from orchestration.definitions import build_definitions

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:  # a mart holding an original PMS subject id: the scan must block
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_patient AS SELECT 'NR-PMS-123-4567' AS subject_id")
    settings = Settings(proact_dir=tmp_path / "no_such_proact", pms_dir=tmp_path / "no_such_pms",
                        warehouse=warehouse, snapshot_dir=tmp_path / "snapshot")
    defs = build_definitions(settings)
    assert {s.name for s in defs.sensors} >= {"new_source_data", "run_failure_alert", "blocking_check_failure_alert"}
    run_sensor = defs.resolve_sensor_def("run_failure_alert")
    check_sensor = defs.resolve_sensor_def("blocking_check_failure_alert")
    assert run_sensor.default_status == check_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    resource = WarehouseResource(path=str(warehouse))
    raw_key = dg.AssetKey(["raw", "proact_alsfrs"])
    check_key = dg.AssetCheckKey(dg.AssetKey(["marts", "dim_patient"]), "no_direct_identifiers")

    with dg.instance_for_test() as instance, Webhook() as hook:  # (sqlite, run-sharded: the `make ui` storage)
        monkeypatch.setenv("ALS_ECA_ALERT_WEBHOOK", hook.url)
        run_cursor = _tick(run_sensor, instance, None, resource)  # first ticks: the baseline
        # (The check sensor is given the code, as in the daemon, for the check's description. The run sensor is not:
        # it matches runs to its code location, and a run executed in-process has none.)
        check_cursor = _tick(check_sensor, instance, None, resource, defs)

        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={raw_key}, asset_check_selection={check_key})
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success

        run_cursor = _tick(run_sensor, instance, run_cursor, resource)
        check_cursor = _tick(check_sensor, instance, check_cursor, resource, defs)

        rows = _alerts(warehouse)
        assert [(r["kind"], r["asset_key"], r["check_name"]) for r in rows] == [
            ("check_failure", "marts/dim_patient", "no_direct_identifiers"),
            ("run_failure", "marts/dim_patient", None),  # the check's step failed too: blocking
            ("run_failure", "raw/proact_alsfrs", None)]
        assert {r["run_id"] for r in rows} == {result.run_id}
        assert {r["job_name"] for r in rows} == {result.dagster_run.job_name}
        raw_failure = rows[2]
        # The root cause, not Dagster's wrapper ("Error occurred while executing op") nor its exception class.
        assert raw_failure["message"] == (f"raw_proact: PRO-ACT folder {tmp_path / 'no_such_proact'} does not exist "
                                          "(set ALS_ECA_PROACT_DIR)")
        assert rows[0]["message"].startswith("No PMS direct identifier: ")  # the check's description
        assert rows[0]["message"].endswith("; details in the Dagster UI: findings")  # (a table: not sent off-site)
        assert rows[1]["message"] == ("marts__dim_patient_no_direct_identifiers: 1 blocking asset check failed with "
                                      "ERROR severity: marts/dim_patient: no_direct_identifiers")
        assert "NR-PMS" not in " ".join(r["message"] for r in rows)
        assert all(r["delivered"] is True and r["webhook_status"] == "HTTP 200" for r in rows)
        # When each step failed (UTC), to the microsecond.
        assert sorted(r["occurred_at"] for r in rows[1:]) == sorted(
            datetime.fromtimestamp(e.timestamp, UTC).replace(tzinfo=None)
            for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE))

        posted = sorted((p["json"]["kind"], p["json"]["asset_key"]) for p in hook.received)
        assert posted == [(r["kind"], r["asset_key"]) for r in rows]
        assert {p["json"]["alert_id"] for p in hook.received} == {r["alert_id"] for r in rows}

        # The next evaluations, with the new cursors, alert nothing twice.
        _tick(run_sensor, instance, run_cursor, resource)
        _tick(check_sensor, instance, check_cursor, resource, defs)
        assert len(_alerts(warehouse)) == 3 and len(hook.received) == 3


def test_only_failed_blocking_error_checks_are_alerts_and_a_down_webhook_does_not_fail_the_sensor(tmp_path,
                                                                                                  monkeypatch):
    from orchestration.alerts import blocking_check_failure_alert

    @dg.asset(check_specs=[dg.AssetCheckSpec("guard", asset="cohort", blocking=True),
                           dg.AssetCheckSpec("plausible", asset="cohort"),
                           dg.AssetCheckSpec("passes", asset="cohort", blocking=True)])
    def cohort():
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="guard", passed=False, description="2 patients counted twice",
                                  metadata={"failed_rows": 2, "rows": dg.MetadataValue.md("| a |\n|---|\n| 1 |")})
        yield dg.AssetCheckResult(check_name="plausible", passed=False, severity=dg.AssetCheckSeverity.WARN)
        yield dg.AssetCheckResult(check_name="passes", passed=True)

    warehouse = tmp_path / "warehouse.duckdb"
    resource = WarehouseResource(path=str(warehouse))
    monkeypatch.setenv("ALS_ECA_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens-here")
    with dg.instance_for_test() as instance:
        cursor = _tick(blocking_check_failure_alert, instance, None, resource)
        assert not warehouse.exists()  # a tick with nothing to alert does not open the warehouse
        result = dg.materialize([cohort], instance=instance, raise_on_error=False)
        cursor = _tick(blocking_check_failure_alert, instance, cursor, resource)
        [row] = _alerts(warehouse)
        assert (row["kind"], row["asset_key"], row["check_name"]) == ("check_failure", "cohort", "guard")
        assert row["run_id"] == result.run_id
        assert row["message"] == "2 patients counted twice; failed_rows: 2; details in the Dagster UI: rows"
        assert row["delivered"] is False and row["webhook_status"].startswith("not delivered:")
        _tick(blocking_check_failure_alert, instance, cursor, resource)
        assert len(_alerts(warehouse)) == 1


def test_dbt_never_builds_in_the_ops_schema(tmp_path):
    """ops.alerts and ops.run_state live beside dbt's schemas: no dbt model or seed is built in `ops` (dbt replaces
    only its own relations and drops no schema). The snapshot copies `marts` alone (tests/test_publish.py)."""
    import json

    from orchestration.dbt import dbt_project

    manifest = json.loads(dbt_project(tmp_path / "warehouse.duckdb").manifest_path.read_text())
    schemas = {node["schema"] for node in manifest["nodes"].values() if node["resource_type"] in ("model", "seed")}
    assert "marts" in schemas and "ops" not in schemas


class Unreachable(dg.ConfigurableResource):
    """A resource that cannot start: the run fails before any step."""

    def setup_for_execution(self, context) -> None:
        raise RuntimeError("cannot open /mnt/share/warehouse.duckdb: permission denied")


def test_a_run_that_fails_before_any_step_is_one_alert_with_the_run_failure(tmp_path, monkeypatch):
    from orchestration.alerts import run_failure_alert

    @dg.asset
    def needs_the_share(share: Unreachable) -> int:
        return 1

    warehouse = tmp_path / "warehouse.duckdb"
    with dg.instance_for_test() as instance, Webhook() as hook:
        monkeypatch.setenv("ALS_ECA_ALERT_WEBHOOK", hook.url)
        result = dg.materialize([needs_the_share], resources={"share": Unreachable()}, instance=instance,
                                raise_on_error=False)
        assert not result.success
        assert not instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_event=result.get_run_failure_event(), dagster_instance=instance,
            dagster_run=result.dagster_run, resources={"warehouse": WarehouseResource(path=str(warehouse))})
        run_failure_alert(context.for_run_failure())
    [row] = _alerts(warehouse)
    assert (row["kind"], row["run_id"], row["asset_key"]) == ("run_failure", result.run_id, None)
    assert row["message"] == "RuntimeError: cannot open /mnt/share/warehouse.duckdb: permission denied"
    assert [p["json"]["message"] for p in hook.received] == [row["message"]]
