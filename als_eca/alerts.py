"""Failure alerts: a row in the warehouse (`ops.alerts`) and, when ALS_ECA_ALERT_WEBHOOK is set, a JSON POST.

No Dagster here: the sensors in orchestration/alerts.py turn a failed run or a failed blocking check into `Alert`s
and hand them to `notify_and_record`.

The POST comes first and never raises: people are told even when the warehouse is busy, and a webhook that is down
is recorded (`delivered` false, `webhook_status` says why) instead of failing the sensor. The row is written under
the warehouse's writer lock, waited for a few seconds only: a sensor evaluation must end within about a minute, and
the next queued run's dbt step may hold the warehouse for minutes. When it stays busy the rows wait as files in
`<warehouse>.alerts-pending/` and the next recording writes them (the check sensor tries on every tick).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from als_eca.privacy import ORIGINAL_ID_SQL
from als_eca.warehouse_lock import WarehouseLocked, warehouse_lock

log = logging.getLogger(__name__)

KINDS = ("run_failure", "check_failure")
MESSAGE_LIMIT = 2000  # a traceback-sized message is for the UI; the alert says what failed and where
POST_TIMEOUT_SECONDS = 5.0
LOCK_WAIT_SECONDS = 10.0
FIELDS = ("alert_id", "kind", "run_id", "job_name", "asset_key", "check_name", "message", "occurred_at",
          "delivered", "webhook_status")  # a row as sent and kept pending; ops.alerts adds recorded_at
DDL = """CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.alerts (
    alert_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, run_id VARCHAR, job_name VARCHAR, asset_key VARCHAR,
    check_name VARCHAR, message VARCHAR, occurred_at TIMESTAMP, recorded_at TIMESTAMP, delivered BOOLEAN,
    webhook_status VARCHAR)"""


@dataclass(frozen=True)
class Alert:
    kind: str  # one of KINDS
    run_id: str
    job_name: str | None
    message: str
    occurred_at: datetime  # UTC
    asset_key: str | None = None  # "marts/dim_patient"
    check_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"alert kind {self.kind!r} is not one of {KINDS}")
        # The message leaves the platform (webhook): an original PMS subject id that reached an error text is masked,
        # as it may never reach an analyst (als_eca/privacy.py).
        message = re.sub(ORIGINAL_ID_SQL, "[PMS subject id]", self.message.strip())
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT - 1] + "…"
        object.__setattr__(self, "message", message)
        occurred = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=UTC)
        object.__setattr__(self, "occurred_at", occurred.astimezone(UTC))

    @property
    def alert_id(self) -> str:
        # The same failure always gets the same id, so a sensor tick evaluated twice never records it twice.
        key = "\x1f".join((self.kind, self.run_id, self.asset_key or "", self.check_name or "",
                           self.occurred_at.isoformat()))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def summary(self) -> str:
        what = {"run_failure": "run failed", "check_failure": "blocking check failed"}[self.kind]
        where = " ".join(part for part in (
            f"job {self.job_name}" if self.job_name else "",
            f"asset {self.asset_key}" if self.asset_key else "",
            f"check {self.check_name}" if self.check_name else "") if part)
        return f"als-eca: {what} ({where}, run {self.run_id[:8]}): {self.message.splitlines()[0] if self.message else ''}"


def payload(alert: Alert) -> dict:
    """The JSON body of the POST: every field of the alert, plus `text` (the one-line summary chat webhooks show)."""
    body = {k: v for k, v in asdict(alert).items() if k != "occurred_at"}
    return {"alert_id": alert.alert_id, **body,
            "occurred_at": alert.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "text": alert.summary}


def post(url: str, alert: Alert, timeout: float = POST_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """POST the alert as JSON: (delivered, status). Never raises: a webhook that is down is a status, not an error."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # (urllib would also open file:// and ftp:// URLs)
        return False, "not sent: ALS_ECA_ALERT_WEBHOOK is not an http(s) URL"
    request = urllib.request.Request(url, data=json.dumps(payload(alert)).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "als-eca-alerts"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return True, f"HTTP {response.status}"
    except urllib.error.HTTPError as error:  # the server answered, with an error status
        return False, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:  # refused, unreachable, timed out, malformed
        return False, f"not delivered: {getattr(error, 'reason', error)}"


@dataclass(frozen=True)
class Outcome:
    rows: list[dict]  # one per alert, as written to ops.alerts
    recorded: bool  # False: the warehouse stayed busy; the rows wait in the pending folder


def pending_dir(warehouse: Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".alerts-pending")


def notify_and_record(warehouse: Path, alerts: list[Alert], webhook: str | None, *,
                      lock_wait: float = LOCK_WAIT_SECONDS, timeout: float = POST_TIMEOUT_SECONDS) -> Outcome:
    """Post each alert to `webhook` (when set), then record them all in `ops.alerts` with how the POST went; with no
    alerts, write the rows still pending from an earlier busy warehouse (if any)."""
    rows, unreachable = [], None
    for alert in alerts:
        if not webhook:
            delivered, status = None, "no webhook (ALS_ECA_ALERT_WEBHOOK)"
        elif unreachable:
            # One wait for a webhook that does not answer, not one per alert: the evaluation must end in time.
            delivered, status = False, f"{unreachable} (not retried within this evaluation)"
        else:
            delivered, status = post(webhook, alert, timeout)
            unreachable = status if status.startswith("not delivered") else None
        if delivered is False:
            log.warning("alert %s not delivered to the webhook: %s", alert.alert_id, status)
        row = {**payload(alert), "delivered": delivered, "webhook_status": status}
        rows.append({field: row[field] for field in FIELDS})
    return Outcome(rows, record(warehouse, rows, lock_wait))


def record(warehouse: Path, rows: list[dict], lock_wait: float = LOCK_WAIT_SECONDS) -> bool:
    """Insert `rows` and any pending ones into ops.alerts (True), or keep `rows` pending when the warehouse stays
    busy for `lock_wait` seconds (False). Nothing to write: the warehouse is not opened."""
    folder = pending_dir(warehouse)
    waiting = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not rows and not waiting:
        return True
    opened = _open_writer(Path(warehouse), lock_wait)
    if opened is None:
        folder.mkdir(parents=True, exist_ok=True)
        for row in rows:
            tmp = folder / f".{row['alert_id']}.tmp"
            tmp.write_text(json.dumps(row))
            os.replace(tmp, folder / f"{row['alert_id']}.json")  # a reader never sees half a file
        log.warning("warehouse %s is busy: %d alert(s) kept in %s until the next recording", warehouse, len(rows),
                    folder)
        return False
    stack, con = opened
    with stack:
        # Timestamps are stored in UTC without a zone.
        recorded_at = datetime.now(UTC).replace(tzinfo=None)
        values = [[datetime.fromisoformat(r[f]).replace(tzinfo=None) if f == "occurred_at" else r[f] for f in FIELDS]
                  + [recorded_at] for r in [*(json.loads(p.read_text()) for p in waiting), *rows]]
        con.execute(DDL)
        # An alert already recorded (same id: the same failure seen again) is not recorded twice.
        con.executemany(f"INSERT INTO ops.alerts ({', '.join(FIELDS)}, recorded_at) VALUES "
                        f"({', '.join('?' * (len(FIELDS) + 1))}) ON CONFLICT (alert_id) DO NOTHING", values)
    for path in waiting:
        path.unlink(missing_ok=True)
    return True


def _open_writer(warehouse: Path, lock_wait: float) -> tuple[ExitStack, duckdb.DuckDBPyConnection] | None:
    """The writer lock and a writing connection, tried until `lock_wait` seconds have passed; None if still busy.
    DuckDB's own file lock is tried too: a process may hold the file without the writer lock (a read-only check)."""
    deadline = time.monotonic() + lock_wait
    while True:
        stack = ExitStack()
        try:
            stack.enter_context(warehouse_lock(warehouse, wait=False))
            con = stack.enter_context(duckdb.connect(str(warehouse)))
            return stack, con
        except (WarehouseLocked, duckdb.IOException):
            stack.close()
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(0.5, max(deadline - time.monotonic(), 0.0)))

