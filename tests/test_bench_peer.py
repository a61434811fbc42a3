"""The R peer of the whole-graph benchmark (benchmarks/peer/nam2023.R, benchmarks/bench_peer.py): the script runs
on a small generated sample and prints its counts as JSON; without R the benchmark says why it skipped."""

from __future__ import annotations

import signal
import sys

import pytest

from benchmarks import bench_peer, common

pytestmark = pytest.mark.xdist_group("benchmarks")


@pytest.mark.r
def test_peer_script_prints_its_cohort_as_json(medium_data):
    if bench_peer.r_missing():
        pytest.skip(bench_peer.r_missing())
    run, out = bench_peer.run_peer(medium_data)
    assert run.returncode == 0 and run.seconds > 0 and run.peak_rss_mib > 0
    assert out["export"] == max(p.name for p in (medium_data / "pms").iterdir())  # the newest export
    eligible, deaths = out["eligible"], out["deaths"]
    assert 0 < eligible["treated"] <= out["pms_patients"] and 0 < eligible["control"] <= out["placebo_subjects"]
    # 1:1 without a caliper: every eligible treated patient is matched while controls outnumber them
    assert out["matched_pairs"] == eligible["treated"] == len(out["matched_controls"])
    assert deaths["treated"] > 0 and deaths["control"] > 0
    assert 0 < out["hr"]["group_single"]["lower"] < out["hr"]["group_single"]["hr"] < out["hr"]["group_single"]["upper"]
    assert set(out["seconds"]) == {"read", "cohort", "match", "survival"}


def test_without_rscript_the_peer_section_says_skipped_and_why(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no Rscript on it
    reason = bench_peer.r_missing()
    assert reason == "Rscript is not on PATH"
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results.md")
    bench_peer.write_peer_section([], skipped=reason)
    text = (tmp_path / "results.md").read_text()
    assert "## Peer (R script)" in text and "**Skipped**: Rscript is not on PATH." in text


def test_verdict_states_the_miss_in_ratio_and_seconds():
    row = {"goal": 3.0, "ratio": 12.0, "peer_s": 2.0, "ours_s": 24.0}
    assert bench_peer.verdict(row) == "missed by 9.0x (ours would need <= 6.0 s: 18.0 s less)"
    assert bench_peer.verdict({**row, "ratio": 2.5, "ours_s": 5.0}) == "met"
    # the miss beside what our run spent: dbt, the other steps, the run outside its steps
    phases = {"dbt build": 11.0, "outside the steps": 6.0}
    assert bench_peer.why({**row, "scale": 1.0, "ours_phases": phases}) == (
        "- Scale 1: the goal allows ours 6.0 s; our dbt step alone took 11.0 s, the other steps 7.0 s, the run "
        "outside its steps 6.0 s.")
    assert bench_peer.why({**row, "ratio": 2.5, "ours_phases": phases}) is None
    # with the stack's bare import time measured, that floor beside the peer's whole run
    assert bench_peer.why({**row, "scale": 1.0, "ours_phases": phases, "stack_imports_s": 3.0}).endswith(
        "Importing the stack the design card names (dagster, dagster_dbt, dbt.cli.main) in a fresh process, with "
        "nothing else done, took 3.0 s: 1.5x the peer's whole run.")


def test_the_stack_import_floor_is_a_measured_fresh_import():
    seconds = bench_peer.stack_imports_seconds(runs=1)
    assert 0.2 < seconds < 60  # a real import of dagster, dagster-dbt and dbt-core, not a constant


def test_our_run_time_is_split_by_kind_of_step():
    stderr = "\n".join(["  raw_proact: done (2.0 s)", "  raw__pms_dm_gx_pms_demographics: done (3.0 s)",
                        "  dbt_warehouse: done (11.5 s)", "  marts__fct_visit_no_direct_identifiers: done (0.1 s)",
                        "  analysis__matched_cohort: done (0.5 s)", "  analysis__study_report: done (1.5 s)",
                        "  publish__analyst_snapshot: done (0.4 s)", "check failed: analysis/balance:smd (WARN)"])
    run = common.ChildRun(seconds=25.0, peak_rss_mib=600.0, returncode=0, stdout="", stderr=stderr)
    assert bench_peer.where_ours_went(run) == pytest.approx({
        "dbt build": 11.5, "GX suites": 3.0, "raw load": 2.0, "report, snapshot": 1.9, "analyses": 0.5,
        "other checks": 0.1, "outside the steps": 6.0})


def test_a_killed_run_is_reported_with_its_signal_peak_and_last_step(tmp_path):
    # A child that finishes one "step", grows to ~200 MiB and is then killed, as the OOM killer would.
    script = ("import os, signal, sys; print('  raw_proact: done (1.0 s)', file=sys.stderr, flush=True); "
              "block = bytearray(200 * 2**20); os.kill(os.getpid(), signal.SIGKILL)")
    run = common.run_child([sys.executable, "-c", script])
    failed = common.RunFailed(run)
    assert run.returncode == -signal.SIGKILL and run.peak_rss_mib > 200
    assert "killed by SIGKILL (the kernel's OOM killer" in str(failed)
    assert str(failed).endswith("last finished step: raw_proact")


def test_the_peer_section_reports_a_scale_where_our_run_failed(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results.md")
    killed = common.RunFailed(common.ChildRun(600.0, 23_000.0, -signal.SIGKILL, "", "  analysis__cox_model: done (0.3 s)"))
    rounds = bench_peer.PeerRounds()
    peer_json = {"eligible": {"treated": 16750, "control": 118879}, "matched_pairs": 16750,
                 "seconds": {"read": 3.8, "cohort": 20.1, "match": 8.9, "survival": 0.3}}
    rounds.by_scale[100.0] = {"ours": [], "peer": [common.ChildRun(35.0, 1900.0, 0, "", "")], "failed": killed,
                              "peer_json": peer_json}
    rows = bench_peer.summarise(rounds.by_scale)
    bench_peer.write_peer_section(rows)
    text = (tmp_path / "results.md").read_text()
    assert "| 100 | 1 | 35.0 | failed | failed | <= 1.5x | not measured: ours failed (als-eca run killed by SIGKILL" in text
    assert "Scale 100 peak RSS (ours): 22.46 GiB, goal <= 4 GiB: missed by 18.46 GiB." in text
    assert "| 100 | eligible treated / controls, matched pairs | (failed) | 16750 / 118879, 16750 |" in text


def test_the_whole_graph_verdicts_keep_a_failed_scale_and_its_peak_memory():
    from benchmarks import bench_pipeline

    rows = [{"scale": 100, "error": "als-eca run killed by SIGKILL after 600 s", "peak_rss_mib": 23 * 1024.0,
             "loop_s": 0.4}]
    assert bench_pipeline.verdicts(rows) == [
        "- Scale 100: failed: als-eca run killed by SIGKILL after 600 s.",
        "- Scale 100 peak memory: 23.00 GiB, goal 4 GiB: missed by 19.00 GiB."]
