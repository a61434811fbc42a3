"""The local instance's pooled SQLite storage (orchestration/instance_storage.py): what it writes is Dagster's
own SQLite layout, read back by Dagster's stock storage; its open connections stay bounded."""

from __future__ import annotations

import dagster as dg
import yaml

from orchestration import instance_storage


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset_check(asset=numbers)
def has_three(numbers: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(numbers) == 3)


def _instance(home, storage: dict) -> dg.DagsterInstance:
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage, "telemetry": {"enabled": False}}))
    return dg.DagsterInstance.from_config(str(home))


def test_pooled_storage_writes_what_stock_sqlite_reads(tmp_path):
    base = str(tmp_path / "storage")
    pooled = _instance(tmp_path, {"custom": {"module": "orchestration.instance_storage",
                                             "class": "PooledSqliteStorage", "config": {"base_dir": base}}})
    assert isinstance(pooled.event_log_storage, instance_storage.PooledSqliteEventLogStorage)
    result = dg.materialize([numbers], instance=pooled, selection=[numbers])
    checks = dg.Definitions(assets=[numbers], asset_checks=[has_three]).resolve_implicit_global_asset_job_def()
    checked = checks.execute_in_process(instance=pooled)
    assert result.success and checked.success
    events = pooled.all_logs(result.run_id)
    pooled.dispose()

    stock = _instance(tmp_path, {"sqlite": {"base_dir": base}})
    assert [e.dagster_event_type for e in stock.all_logs(result.run_id)] == [e.dagster_event_type for e in events]
    materialization = stock.get_latest_materialization_event(dg.AssetKey("numbers"))
    assert materialization is not None and materialization.run_id == checked.run_id
    evaluation = stock.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("numbers"), "has_three")])
    assert list(evaluation.values())[0].status.value == "SUCCEEDED"
    assert stock.get_run_by_id(result.run_id).is_success


def test_open_engines_stay_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_storage, "OPEN_SHARDS", 2)
    storage = instance_storage.PooledSqliteEventLogStorage(str(tmp_path))
    for shard in ("run_a", "run_b", "run_c", "run_a"):
        with storage.run_connection(shard) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert list(storage._engines) == ["run_c", "run_a"]  # the two most recently used
    storage.dispose()
    assert not storage._engines
