"""The GX suites run in a worker process: Great Expectations is never imported by the process that runs them (its
~3 s import would hold that process's interpreter lock), and a worker that dies is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import duckdb
import pytest

from expectations import validate as gx_worker
from expectations.suites import SUITES

pytestmark = pytest.mark.xdist_group("gx")

SUITE = next(s for s in SUITES if s.name == "gx_demographics")


def _demographics(subject_ids: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(f"create table raw.proact_demographics as select * from (values {subject_ids}) t(subject_id, Age, Sex)")
    return con


def test_the_caller_never_imports_great_expectations():
    code = """
import sys, duckdb
from expectations.suites import SUITES
from expectations.validate import validate
con = duckdb.connect()
con.execute("create schema raw")
con.execute("create table raw.proact_demographics as select * from (values (1, 55, 'Male'), (1, 60, 'Female')) "
            "t(subject_id, Age, Sex)")
outcome = validate(next(s for s in SUITES if s.name == "gx_demographics"), con)
print(outcome.success, outcome.failed()[0].expectation, 'great_expectations' in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr[-2000:]
    # The duplicate subject is found (by GX, in the worker), and GX is not in the caller's modules.
    assert done.stdout.split() == ["False", "expect_column_values_to_be_unique", "False"]


def test_a_worker_that_dies_is_replaced():
    assert gx_worker.validate(SUITE, _demographics("(1, 55, 'Male'), (2, 60, 'Female')")).success
    pid = gx_worker.start().submit(os.getpid).result()
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    outcome = gx_worker.validate(SUITE, _demographics("(1, 55, 'Male'), (1, 60, 'Female')"))
    assert not outcome.success and outcome.rows == 2
    assert gx_worker.start().submit(os.getpid).result() not in (pid, os.getpid())


def _validate_in_child() -> None:
    assert gx_worker.validate(SUITE, _demographics("(1, 55, 'Male'), (2, 60, 'Female')")).success


def test_a_multiprocessing_child_that_validated_ends():
    """A simulation worker (a multiprocessing child) joins its own children before it exits and runs no atexit
    handlers: the GX worker must be stopped first, or the child would wait for it for ever."""
    child = get_context("spawn").Process(target=_validate_in_child)
    child.start()
    child.join(timeout=240)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0


def test_the_worker_ends_when_its_parent_is_killed():
    code = """
import os, signal
from expectations.validate import start
print(start().submit(os.getpid).result(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    worker = int(done.stdout.split()[0])
    for _ in range(100):  # the worker sees its parent's end at once; it is gone within moments
        if not os.path.exists(f"/proc/{worker}") or " Z " in Path(f"/proc/{worker}/stat").read_text():
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the GX worker outlived the process that started it")


def test_a_script_a_worker_cannot_start_from_still_validates(tmp_path):
    """A script without the `__main__` guard: the spawned worker imports it again and cannot start. The suite then
    runs in the caller's process, with a warning, rather than failing the check."""
    script = tmp_path / "unguarded.py"
    script.write_text(f"""
import sys, warnings
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
import duckdb
from expectations.suites import SUITES
from expectations.validate import validate
con = duckdb.connect()
con.execute("create schema raw")
con.execute("create table raw.proact_demographics as select * from (values (1, 55, 'Male'), (1, 60, 'Female')) "
            "t(subject_id, Age, Sex)")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    outcome = validate(next(s for s in SUITES if s.name == "gx_demographics"), con)
print("RESULT", outcome.success, any("in this process" in str(w.message) for w in caught))
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RESULT False True" in done.stdout
