"""Every benchmark runs at a tiny size (its figures are not checked here: that is `make bench`), so none can rot."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("benchmarks")


def test_matching_benchmark_runs_and_agrees_with_the_naive_scan():
    from benchmarks import bench_matching

    result = bench_matching.run(200, 2_000, with_r=False)
    assert result["pairs"] == 200 and result["fast_s"] > 0


def test_survival_benchmark_runs():
    from benchmarks import bench_survival

    result = bench_survival.run(5_000)
    assert 0.3 < result["cox_hr_treated"] < 0.8


def test_ingestion_benchmark_runs(small_data, monkeypatch):
    from benchmarks import bench_ingest

    monkeypatch.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
    result = bench_ingest.run(0.05, small_data)
    assert result["loader"]["rows"] > 0 and result["ratio"] > 0


def test_pipeline_benchmark_runs(medium_data, tmp_path, monkeypatch):
    from benchmarks import bench_pipeline

    monkeypatch.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
    warehouse = tmp_path / "warehouse.duckdb"
    cold, _ = bench_pipeline.als_eca_run(medium_data, warehouse, force=True)
    noop, line = bench_pipeline.als_eca_run(medium_data, warehouse, force=False)
    assert line.startswith("up to date") and noop.seconds < cold.seconds
    # the peak RSS is the run's own (wait4), not a high-water mark shared with earlier children
    assert 100 < cold.peak_rss_mib < 4096


def test_the_new_pms_export_run_is_a_refresh_pms_run(medium_data, tmp_path, monkeypatch):
    # the incremental-refresh benchmark: built from the earlier export(s), then the newest added: the run it times
    # must be the PMS branch only (the sensor's and `als-eca run`'s refresh_pms), not a full rebuild
    from benchmarks import bench_pipeline

    monkeypatch.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
    out = bench_pipeline.new_pms_export_run(medium_data, tmp_path)
    assert "(refresh_pms)" in out["incremental_line"], out
    assert out["incremental_s"] > 0
    assert bench_pipeline._incremental_cell({**out, "incremental_share": 0.5}).endswith("(50%)")
