"""One writer at a time on a warehouse, across processes and run paths (CLI, UI, schedule, sensor).

DuckDB itself refuses a second writer at once with an error. This lock (`flock` on `<warehouse>.lock`, released by
the kernel when its holder dies, so a killed run never leaves it behind) lets a second run wait for the first, or
fail at once naming the holder. The lock file records who holds it (pid, command, since when).

`als-eca run` holds it for the whole run; a Dagster run launched elsewhere takes it around each writing step (the
warehouse resource), so it waits rather than failing on DuckDB's lock. Within one process the lock is re-entrant.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

_HELD: dict[str, int] = {}  # lock path -> depth, for this process
_GUARD = threading.Lock()


class WarehouseLocked(RuntimeError):
    """The warehouse is being written by another run (and we were told not to wait)."""


def lock_path(warehouse: Path) -> Path:
    warehouse = Path(warehouse).resolve()
    return warehouse.with_name(warehouse.name + ".lock")


def holder(warehouse: Path) -> str:
    """Who holds the lock, as recorded in the lock file ("PID 123 (als-eca run), since 2026-11-26T10:00:00Z")."""
    try:
        info = json.loads(lock_path(warehouse).read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not info:
        return "another process"
    return f"PID {info.get('pid')} ({info.get('command', '?')}), since {info.get('since', '?')}"


@contextmanager
def warehouse_lock(warehouse: Path, *, wait: bool = True,
                   on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock; re-entrant within a process."""
    path = lock_path(warehouse)
    key = str(path)
    with _GUARD:
        if _HELD.get(key):
            _HELD[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _GUARD:
                _HELD[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = holder(warehouse)
            if not wait:
                raise WarehouseLocked(f"warehouse {Path(warehouse)} is being written by {who}") from None
            if on_wait:
                on_wait(f"waiting for warehouse {Path(warehouse)}: it is being written by {who}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({
            "pid": os.getpid(), "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv[:2])),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}).encode(), 0)
        with _GUARD:
            _HELD[key] = 1
        try:
            yield
        finally:
            with _GUARD:
                _HELD.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
