"""`als-eca simulate`: each seed generates data with a known truth, runs the asset graph on it and the audit
summarises the hazard ratios the assets wrote (a small run here; the full audit is a benchmark)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.slow
def test_simulate_runs_the_graph_per_seed_and_summarises_its_estimates(tmp_path):
    out = tmp_path / "audit"
    result = CliRunner().invoke(app, ["simulate", "--seeds", "2", "--first-seed", "12", "--scale", "0.25",
                                      "--true-hr", "0.5", "--workers", "1", "--out", str(out), "--keep"])
    assert result.exit_code == 0, result.output
    assert "| replication | group_single | conditional |" in result.output

    est = pd.read_csv(out / "estimates.csv")
    assert set(est["seed"]) == {12, 13}
    assert {"replication", "aligned", *(f"falsification ({a}): {f}" for a in ("replication", "aligned")
                                        for f in ("active_vs_placebo", "placebo_halves"))} == set(est["analysis"])
    treatment = est[~est["analysis"].str.startswith("falsification")]
    assert (treatment["truth"] == 0.5).all()
    assert (est.loc[est["analysis"].str.startswith("falsification"), "truth"] == 1.0).all()

    # The estimates are the ones the pipeline's assets wrote for that seed, and the truth the generator's.
    run = out / "runs" / "seed_12"
    generation = json.loads((run / "data" / "generation.json").read_text())
    assert generation["synthetic"] is True and generation["true_treatment_hr"] == 0.5
    assert treatment.loc[treatment["seed"] == 12, "marginal_truth"].iloc[0] == pytest.approx(
        generation["true_marginal_hr_treated"])
    for analysis, doc in (("replication", "results.json"), ("aligned", "aligned_analysis.json")):
        terms = json.loads((run / "analysis" / doc).read_text())["cox"]["terms"]
        row = est[(est["seed"] == 12) & (est["analysis"] == analysis) & (est["term"] == "group_single")].iloc[0]
        written = [terms["group_single"][k] for k in ("hr", "lower", "upper")]  # None: not estimable
        assert [row["hr"], row["lower"], row["upper"]] == pytest.approx(
            [math.nan if v is None else v for v in written], nan_ok=True)

    # The summary recounts from the estimates.
    summary = pd.read_csv(out / "summary.csv")
    s = summary[(summary["analysis"] == "replication") & (summary["term"] == "group_single")
                & (summary["truth_kind"] == "conditional") & (summary["ci"] == "model")].iloc[0]
    rows = treatment[(treatment["analysis"] == "replication") & (treatment["term"] == "group_single")].dropna(
        subset=["hr"])
    assert s["estimable"] == len(rows)
    assert s["mean_hr"] == pytest.approx(math.exp(np.log(rows["hr"]).mean()))
    assert s["coverage"] == pytest.approx(((rows["lower"] <= 0.5) & (rows["upper"] >= 0.5)).mean())
    doc = json.loads((out / "summary.json").read_text())
    assert doc["config"]["true_hr"] == 0.5

    # The audit's speed: printed last, recorded in the summary; every phase of a seed was timed.
    speed = doc["throughput"]
    assert speed["seeds"] == 2 and speed["seeds_per_minute"] == pytest.approx(120 / speed["wall_seconds"])
    assert all(speed["phase_seconds"][p] > 0 for p in ("generate", "pipeline", "estimates"))
    assert speed["cpu_seconds_per_seed"] > speed["phase_seconds"]["generate"]  # dbt's processes counted too
    assert "seeds per minute" in result.output.strip().splitlines()[-1]
    # The worker ran both seeds at one warehouse path with its own dbt target folder: dbt parsed the project in
    # full for the first seed only (kept with --keep, beside the seeds and their logs).
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs[:4] == ["seed_12", "seed_12.log", "seed_13", "seed_13.log"] and runs[4].startswith("worker_")
    invocations = sorted((out / "runs" / runs[4] / "dbt_target").glob("dbt_warehouse-*/dbt.log"),
                         key=lambda p: p.stat().st_mtime)
    assert ["Starting full parse" in log.read_text() for log in invocations] == [True, False]


def test_throughput_counts_seeds_per_minute_of_wall_time_and_imports_once_per_worker():
    from simulation.audit import throughput, throughput_line

    def seed(imports: float) -> dict:
        return {"phases": {"imports": imports, "generate": 4.0, "pipeline": 30.0, "estimates": 0.5},
                "cpu_seconds": 40.0 + imports}

    t = throughput([seed(6.0), seed(8.0), seed(0.0), seed(0.0)], wall_seconds=120.0, workers=2)
    assert t["seeds_per_minute"] == 2.0
    # the one-off imports are averaged over the seeds that paid them (the first of each worker)
    assert t["phase_seconds"] == {"imports": 7.0, "generate": 4.0, "pipeline": 30.0, "estimates": 0.5}
    assert t["cpu_seconds_per_seed"] == 43.5
    line = throughput_line({"throughput": t})
    assert line.startswith("4 seeds in 2.0 min on 2 workers: 2.00 seeds per minute")


def _summary_doc(complete: bool) -> dict:
    rows = [{"analysis": a, "term": t, "truth_kind": k, "ci": ci, "seeds": 3, "estimable": 3, "truth": tr,
             "mean_hr": 0.4, "bias_log_hr": 0.1, "bias_mcse": 0.05, "empirical_se": 0.2, "coverage": 0.67,
             "coverage_mcse": 0.27, "ci_excludes_1": 1.0}
            for a, t, k, ci, tr in [("aligned", "group_single", "conditional", "model", 0.36),
                                    ("aligned", "group_single", "conditional", "robust", 0.36),
                                    ("aligned", "group_multiple", "conditional", "model", 0.36),
                                    ("falsification (aligned): placebo_halves", "treated", "null", "model", 1.0)]]
    return {"config": {"seeds": [1, 2, 3], "true_hr": 0.36, "scale": 1.0, "hidden_selection": False,
                       "complete_death_records": complete}, "failed_runs": {}, "summary": rows}


def test_the_report_shows_the_local_audit_summary(tmp_path):
    from als_eca.study.report import simulation_section

    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary_doc(True)))
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"recorded": {"by": "make bench", "commit": "abc1234", "date": "2026-11-26"},
                                    "scenarios": {"calibrated": _summary_doc(False)}}))
    section = simulation_section(path, recorded)  # a local audit wins over the recorded one
    assert "3 data sets" in section.blocks[1] and "complete PRO-ACT death records" in section.blocks[1]
    assert "abc1234" not in " ".join(b for b in section.blocks if isinstance(b, str))
    table = section.blocks[2]
    assert list(table["analysis"]) == ["aligned", "falsification (aligned): placebo_halves"]  # model CI, single-cycle
    assert list(table["estimable"]) == ["3/3", "3/3"]


def test_without_a_local_audit_the_report_shows_the_recorded_one_labelled_or_how_to_run_one(tmp_path):
    from als_eca.study.report import RECORDED_AUDIT, simulation_section

    absent = tmp_path / "absent.json"
    assert "Not run on this installation: `als-eca simulate" in simulation_section(absent, None).blocks[0]
    assert "Not run on this installation: `als-eca simulate" in simulation_section(absent, absent).blocks[0]
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"recorded": {"by": "make bench", "commit": "abc1234", "date": "2026-11-26"},
                                    "scenarios": {"calibrated death records": _summary_doc(False),
                                                  "complete death records": _summary_doc(True)}}))
    blocks = simulation_section(absent, recorded).blocks
    assert "commit abc1234 on 2026-11-26 - not recomputed by this run" in blocks[0]
    assert blocks[1].startswith("Calibrated death records: 3 data sets") and len(blocks) == 5
    assert blocks[3].startswith("Complete death records: 3 data sets")
    # the record committed with the code is one the section can show
    if RECORDED_AUDIT.is_file():
        assert "not recomputed by this run" in simulation_section(absent).blocks[0]
