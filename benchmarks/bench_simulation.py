"""Benchmark: the simulation bias audit at full size (`als-eca simulate`, docs/study_design.md) in its scenarios,
each seed through the whole graph on both cores, and its speed: seeds per minute against the goal of 20 seeds at
scale 1 in 5 minutes; rewrites the "Simulation audit" section of results.md.

Scenarios (hidden selection off in all: the audit measures the design's rules, not an unmeasured confounder):
  - calibrated: the generator as calibrated to the real download (its DEATHDATA misses ~40 % of the in-trial
    placebo deaths, as the real file's counts imply at the paper's hazard);
  - complete death records: every in-trial death listed - what the aligned analysis needs to be unbiased.

uv run --frozen python -m benchmarks.bench_simulation [--seeds 12] [--true-hr 0.36]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from als_eca.provenance import code_version
from als_eca.study.report import RECORDED_AUDIT
from analytics.simulation import headline
from benchmarks.common import measured, write_section
from simulation.audit import AuditConfig, markdown_table, run_audit
from synthetic import calibration as cal

SCENARIOS = {"calibrated death records": False, "complete death records": True}
#: Issue #16: 20 seeds at scale 1 in at most 5 minutes (on this 2-core machine: both cores).
GOAL_SEEDS, GOAL_MINUTES = 20, 5.0


def throughput_verdict(name: str, throughput: dict) -> str:
    """Seeds per minute of one scenario and the goal, met or missed by how much (20 seeds at this speed: the
    audit's wall time per seed, worker start-up included, is what 20 seeds cost linearly)."""
    spm = throughput["seeds_per_minute"]
    minutes = GOAL_SEEDS / spm
    verdict = "met" if minutes <= GOAL_MINUTES else (
        f"missed by {minutes - GOAL_MINUTES:.1f} min (needs {GOAL_SEEDS / GOAL_MINUTES:.1f} seeds per minute)")
    phases = ", ".join(f"{k} {v:.1f}" for k, v in throughput["phase_seconds"].items())
    return (f"- {name}: {spm:.2f} seeds per minute ({throughput['seeds']} seeds in "
            f"{throughput['wall_seconds'] / 60:.1f} min on {throughput['workers']} workers); {GOAL_SEEDS} seeds take "
            f"{minutes:.1f} min at this speed, goal {GOAL_MINUTES:g} min: {verdict}. Per seed, mean seconds in one "
            f"worker: {phases}; {throughput['cpu_seconds_per_seed']:.0f} CPU seconds (its worker, dbt included).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--true-hr", type=float, default=cal.TRUE_TREATMENT_HR)
    args = parser.parse_args()
    lines = [f"`als-eca simulate --seeds {args.seeds} --true-hr {args.true_hr}` per scenario: each seed generates "
             "the PRO-ACT download and PMS exports at scale 1, runs raw load, every dbt model and test and the "
             "matched analyses on them, on both cores. The single-cycle term (its multiple-injection twin, in "
             "estimates.csv, has ~25 patients) against the conditional truth (the generator's HR) and the marginal "
             "truth among the treated (from their untreated potential outcomes; the HR is non-collapsible); the "
             "falsifications against HR 1.", ""]
    code = code_version()
    commit = code["commit"][:7] + ("-dirty" if code["dirty"] else "")
    recorded = {"recorded": {"by": "make bench (benchmarks/bench_simulation.py)", "commit": commit,
                             "date": time.strftime("%Y-%m-%d", time.gmtime())}, "scenarios": {}}
    speed = []
    for name, complete in SCENARIOS.items():
        config = AuditConfig(seeds=tuple(range(1, args.seeds + 1)), true_hr=args.true_hr,
                             complete_death_records=complete, workers=os.cpu_count() or 1)
        with tempfile.TemporaryDirectory() as tmp, measured() as m:
            _, summary = run_audit(config, Path(tmp),
                                   on_seed=lambda r, name=name: print(f"  {name}: seed {r['seed']} {r['seconds']:.0f} s "
                                                           f"{r['error'] or ''}", flush=True))
            recorded["scenarios"][name] = json.loads((Path(tmp) / "summary.json").read_text())
        lines += [f"**{name}** ({args.seeds} seeds, {m.seconds / 60:.1f} min on {config.workers} workers)", "",
                  *markdown_table(headline(summary)), ""]
        print("\n".join(markdown_table(headline(summary))), flush=True)
        speed.append(throughput_verdict(name, recorded["scenarios"][name]["throughput"]))
        print(speed[-1], flush=True)
    lines += [f"Speed (goal: {GOAL_SEEDS} seeds at scale 1 in <= {GOAL_MINUTES:g} min on both cores):", "", *speed, "",
              SPEED_NOTES]
    write_section("Simulation audit", lines)
    RECORDED_AUDIT.parent.mkdir(parents=True, exist_ok=True)
    RECORDED_AUDIT.write_text(json.dumps(recorded, indent=2) + "\n")


SPEED_NOTES = """The workers start once per audit and import Dagster, dbt and GX once. Each runs its seeds at one \
warehouse path with its own dbt target folder, so dbt parses the project in full once per worker, not once per \
seed (dbt re-parses whenever the warehouse path in its profile changes); since 2026-12-06 dbt runs in the \
worker's process and the parsed project is kept there, so a worker's later seeds do not parse at all. \
Before/after, 8 seeds at scale 1 on 2 workers, one after the other on a quiet moment: a new path per seed \
120.5 s (3.98 seeds per minute, 29.4 CPU s per seed); one path per worker 106.5 s (4.51 seeds per minute, 26.0 CPU s per seed: ~4.6 CPU s less for each seed \
after a worker's first). The audit kept 1.95 of the 2 cores busy, so generating one seed's files while another \
seed runs would only share the same cores. The rest of a seed is the graph itself (profiled on one seed: dbt \
build about half of the graph's wall time; Dagster storing ~1,100 events in its in-memory event log, ~4 s; \
dagster-dbt parsing dbt's macros in the run's process for an adapter the assets never used, ~1.7 s, since \
removed; the raw load, the GX suites and the three analyses), which the whole-graph section follows. CPU seconds per seed say what a seed costs whatever \
else shares the machine; wall times here move with the neighbours."""


if __name__ == "__main__":
    main()
