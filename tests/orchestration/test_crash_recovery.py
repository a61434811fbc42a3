"""A run killed with SIGKILL mid-materialisation leaves the published snapshot intact, and the next run succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from als_eca.checksum import sha256_file

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash")]


def _run(data, warehouse, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "als_eca.cli", "run", "--force", "--proact", str(data / "proact"), "--pms", str(data / "pms"),
         "--warehouse", str(warehouse)],
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
