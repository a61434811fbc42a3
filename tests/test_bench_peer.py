"""The R peer of the whole-graph benchmark (benchmarks/peer/nam2023.R, benchmarks/bench_peer.py): the script runs
on a small generated sample and prints its counts as JSON; without R the benchmark says why it skipped."""

from __future__ import annotations

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


def test_our_run_time_is_split_by_kind_of_step():
    stderr = "\n".join(["  raw_proact: done (2.0 s)", "  raw__pms_dm_gx_pms_demographics: done (3.0 s)",
                        "  dbt_warehouse: done (11.5 s)", "  marts__fct_visit_no_direct_identifiers: done (0.1 s)",
                        "  analysis__matched_cohort: done (0.5 s)", "  analysis__study_report: done (1.5 s)",
                        "  publish__analyst_snapshot: done (0.4 s)", "check failed: analysis/balance:smd (WARN)"])
    run = common.ChildRun(seconds=25.0, peak_rss_mib=600.0, returncode=0, stdout="", stderr=stderr)
    assert bench_peer.where_ours_went(run) == pytest.approx({
        "dbt build": 11.5, "GX suites": 3.0, "raw load": 2.0, "report, snapshot": 1.9, "analyses": 0.5,
        "other checks": 0.1, "outside the steps": 6.0})
