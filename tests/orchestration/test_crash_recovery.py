"""A run killed with SIGKILL mid-materialisation leaves the published snapshot intact, and the next run succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest.checksum import sha256_file

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash")]


def _run(data, warehouse, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run", "--force", "--proact", str(data / "proact"), "--pms", str(data / "pms"),
         "--warehouse", str(warehouse), "--verbose"],  # (--verbose: dbt's start is logged, so it is killed in dbt)
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def test_sigkill_mid_run_keeps_the_snapshot_and_the_next_run_succeeds(medium_data, tmp_path):
    env = {**os.environ, "ALS_ECA_PSEUDONYM_KEY": "test-key-not-secret"}
    env.pop("DAGSTER_HOME", None)
    warehouse = tmp_path / "warehouse.duckdb"
    first = _run(medium_data, warehouse, env)
    assert first.wait(timeout=600) == 0, first.stdout.read()[-3000:]
    snapshot = tmp_path / "snapshot" / "snapshot.duckdb"
    before = sha256_file(snapshot)

    victim = _run(medium_data, warehouse, env)
    # Kill it once it is inside the dbt build (the longest writer), i.e. truly mid-materialisation.
    deadline = time.monotonic() + 300
    for line in victim.stdout:
        if "dbt_warehouse" in line or time.monotonic() > deadline:
            break
    time.sleep(2)
    assert victim.poll() is None, "the run finished before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)

    assert sha256_file(snapshot) == before
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.mart_survival_cohort").fetchone()[0] > 0

    again = _run(medium_data, warehouse, env)
    out = again.communicate(timeout=600)[0]
    assert again.returncode == 0, out[-3000:]


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in out:
                    out.add(child)
                    todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_dbt_runs_in_the_run_process_so_killing_the_run_leaves_nothing_holding_the_warehouse(medium_data, tmp_path):
    """Only the main process is killed (not its process group), inside the dbt step: dbt runs in that process
    (orchestration/dbt_runner.py), so no child of the run goes on holding DuckDB's lock and the next run succeeds."""
    env = {**os.environ, "ALS_ECA_PSEUDONYM_KEY": "test-key-not-secret"}
    env.pop("DAGSTER_HOME", None)
    warehouse = tmp_path / "warehouse.duckdb"
    victim = _run(medium_data, warehouse, env)
    deadline = time.monotonic() + 300
    for line in victim.stdout:  # dbt's own first line, printed from inside the dbt step
        if "Running with dbt=" in line or time.monotonic() > deadline:
            break
    assert victim.poll() is None, "the run finished before it could be killed"
    children = _descendants(victim.pid)
    assert not any("dbt" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace") for p in children
                   if _alive(p)), "dbt was started as a child process"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=60)
    deadline = time.monotonic() + 30  # (a loaded machine is slow to reap)
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.2)
    assert not any(_alive(p) for p in children), "a child of the killed run still runs"
    again = _run(medium_data, warehouse, env)
    out = again.communicate(timeout=600)[0]
    assert again.returncode == 0, out[-3000:]
