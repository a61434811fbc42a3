"""Failure alerts without Dagster (als_eca/alerts.py): the JSON a webhook receives, a webhook that is down or
answers an error, rows in ops.alerts, a busy warehouse, the same failure seen twice."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import duckdb
import pytest
from local_webhook import Webhook

from als_eca.alerts import Alert, notify_and_record, payload, pending_dir, post, record


def _down_url() -> str:
    """A URL on which nothing listens (a port just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def _alert(**overrides) -> Alert:
    fields = {"kind": "run_failure", "run_id": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc", "job_name": "__ASSET_JOB",
              "asset_key": "raw/pms_dm", "message": "dm.csv: listed in manifest.json but missing",
              "occurred_at": datetime(2026, 3, 1, 5, 0, 7, 250000, tzinfo=UTC)} | overrides
    return Alert(**fields)


def _rows(warehouse) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("SELECT * FROM ops.alerts ORDER BY occurred_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_webhook_receives_every_field_of_the_alert_and_a_one_line_text():
    alert = _alert(kind="check_failure", asset_key="marts/dim_patient", check_name="no_direct_identifiers",
                   message="findings: 1 column\nsecond line")
    with Webhook() as hook:
        assert post(hook.url, alert) == (True, "HTTP 200")
    [got] = hook.received
    assert got["path"] == "/hooks/als-eca" and got["content_type"] == "application/json"
    assert got["json"] == payload(alert)
    body = got["json"]
    assert body["kind"] == "check_failure" and body["run_id"] == alert.run_id and body["job_name"] == "__ASSET_JOB"
    assert (body["asset_key"], body["check_name"]) == ("marts/dim_patient", "no_direct_identifiers")
    assert body["occurred_at"] == "2026-03-01T05:00:07.250000Z"
    assert body["alert_id"] == alert.alert_id and len(alert.alert_id) == 16
    assert body["text"] == ("als-eca: blocking check failed (job __ASSET_JOB asset marts/dim_patient check "
                            "no_direct_identifiers, run 0f1e2d3c): findings: 1 column")


def test_an_original_pms_id_never_leaves_in_a_message_and_long_messages_are_cut():
    alert = _alert(message="bad row for NR-PMS-012-3456 " + "x" * 5000)
    assert "NR-PMS" not in alert.message and "[PMS subject id]" in alert.message
    assert len(alert.message) == 2000 and alert.message.endswith("…")
    with pytest.raises(ValueError, match="not one of"):
        _alert(kind="warning")


def test_alerts_are_recorded_with_how_the_post_went(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    first = _alert()
    second = _alert(run_id="11111111-2222", asset_key=None, message="run failed before any step",
                    occurred_at=datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    with Webhook() as hook:
        outcome = notify_and_record(warehouse, [first, second], hook.url)
    assert outcome.recorded and [r["delivered"] for r in outcome.rows] == [True, True]
    assert [r["json"]["alert_id"] for r in hook.received] == [first.alert_id, second.alert_id]

    rows = _rows(warehouse)
    assert [r["alert_id"] for r in rows] == [first.alert_id, second.alert_id]
    row = rows[0]
    assert {k: row[k] for k in ("kind", "run_id", "job_name", "asset_key", "check_name", "message")} == {
        "kind": "run_failure", "run_id": first.run_id, "job_name": "__ASSET_JOB", "asset_key": "raw/pms_dm",
        "check_name": None, "message": "dm.csv: listed in manifest.json but missing"}
    assert row["occurred_at"] == datetime(2026, 3, 1, 5, 0, 7, 250000)  # UTC, stored without a zone
    assert row["delivered"] is True and row["webhook_status"] == "HTTP 200"
    assert abs((row["recorded_at"] - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) < 60
    assert rows[1]["asset_key"] is None

    # The same failure seen again (a sensor tick evaluated twice) is not a second row.
    notify_and_record(warehouse, [first], None)
    assert len(_rows(warehouse)) == 2


def test_a_webhook_that_is_down_or_fails_is_recorded_as_undelivered_not_raised(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    down, failing, unset = _alert(run_id="down"), _alert(run_id="http-500"), _alert(run_id="unset")
    start = time.monotonic()
    notify_and_record(warehouse, [down], _down_url(), timeout=2)
    assert time.monotonic() - start < 5
    with Webhook(status=500) as hook:
        notify_and_record(warehouse, [failing], hook.url)
    assert len(hook.received) == 1  # it was sent; the server said no
    notify_and_record(warehouse, [unset], None)
    notify_and_record(warehouse, [_alert(run_id="file-url")], "file:///etc/passwd")

    status = {r["run_id"]: (r["delivered"], r["webhook_status"]) for r in _rows(warehouse)}
    assert status["down"][0] is False and status["down"][1].startswith("not delivered:")
    assert status["http-500"] == (False, "HTTP 500 Internal Server Error")
    assert status["unset"] == (None, "no webhook (ALS_ECA_ALERT_WEBHOOK)")  # nothing to deliver to: not "false"
    assert status["file-url"] == (False, "not sent: ALS_ECA_ALERT_WEBHOOK is not an http(s) URL")


def test_a_webhook_that_never_answers_costs_one_timeout_per_evaluation_not_one_per_alert(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        start = time.monotonic()
        outcome = notify_and_record(warehouse, [_alert(run_id=f"run-{i}") for i in range(3)], url, timeout=1)
        elapsed = time.monotonic() - start
    assert 1 <= elapsed < 3  # one timeout, not three
    assert [r["delivered"] for r in outcome.rows] == [False, False, False]
    assert "timed out" in outcome.rows[0]["webhook_status"]
    assert outcome.rows[2]["webhook_status"].endswith("(not retried within this evaluation)")
    assert len(_rows(warehouse)) == 3


def test_a_busy_warehouse_keeps_the_alert_pending_and_the_next_recording_writes_it(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    alert = _alert()
    # Another run's writing step holds the lock; the lock is re-entrant within a process, so the holder is a
    # child process, as in production.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom als_eca.warehouse_lock import warehouse_lock\n"
         f"with warehouse_lock({str(warehouse)!r}):\n    print('held', flush=True)\n    sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Webhook() as hook:
            start = time.monotonic()
            outcome = notify_and_record(warehouse, [alert], hook.url, lock_wait=1)
            assert 1 <= time.monotonic() - start < 5  # waited for the lock, a little
        assert not outcome.recorded and len(hook.received) == 1  # told at once, recorded later
        assert [p.name for p in pending_dir(warehouse).glob("*.json")] == [f"{alert.alert_id}.json"]
    finally:
        holder.communicate(timeout=30)  # (closing its stdin releases the lock)
    assert record(warehouse, [])  # (what the check sensor does on every tick)
    [row] = _rows(warehouse)
    assert row["alert_id"] == alert.alert_id and row["delivered"] is True
    assert not list(pending_dir(warehouse).glob("*.json"))
    assert record(warehouse, []) and len(_rows(warehouse)) == 1  # nothing pending: nothing written again
