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
