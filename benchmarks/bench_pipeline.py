"""Benchmark: the whole asset graph (`als-eca run`) cold, re-run with nothing changed, at several scales, each in
its own process (wall time and that process's peak RSS).

uv run --frozen python -m benchmarks.bench_pipeline [--scales 1 10] [--data-root data/bench]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import reference_loop_seconds, write_section

REPO = Path(__file__).resolve().parent.parent


def ensure_data(scale: float, root: Path) -> Path:
    out = root / f"scale_{scale:g}"
    if not (out / "proact").is_dir():
        import synthetic

        print(f"generating scale {scale:g} into {out} ...", flush=True)
        synthetic.generate(out, seed=20230401, scale=scale, progress=True)
    return out


def als_eca_run(data: Path, warehouse: Path, force: bool) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) of the run's process, last output line."""
    env = {**os.environ, "ALS_ECA_PSEUDONYM_KEY": os.environ.get("ALS_ECA_PSEUDONYM_KEY", "benchmark-key"),
           "ALS_ECA_SNAPSHOT_DIR": str(warehouse.parent / "snapshot")}
    env.pop("DAGSTER_HOME", None)
    command = [sys.executable, "-m", "cli.main", "run", "--proact", str(data / "proact"),
               "--pms", str(data / "pms"), "--warehouse", str(warehouse)] + (["--force"] if force else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"als-eca run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # high-water mark over children so far
    lines = [line for line in done.stdout.splitlines() if line.startswith(("run ", "up to date"))]
    return seconds, max(peak, before) / 1024, (lines[-1] if lines else "")


def fresh_warehouse(warehouse: Path) -> None:
    """Remove a warehouse, its run stamp and its analyst snapshot: the next run builds everything from nothing."""
    for path in warehouse.parent.glob(f"*{warehouse.name}*"):
        path.unlink()
    shutil.rmtree(warehouse.parent / "snapshot", ignore_errors=True)


def run(scales: list[float], root: Path, repeats: int) -> list[dict]:
    rows = []
    for scale in scales:
        data = ensure_data(scale, root)
        loop = reference_loop_seconds()
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            warehouse = Path(tmp) / "warehouse.duckdb"
            # First run on a warehouse path never used before: dbt re-parses its whole project (its profile, which
            # names the warehouse path, differs from the saved parse state).
            new_path, peak, _ = als_eca_run(data, warehouse, force=True)
            colds = []
            for _ in range(repeats if scale <= 10 else 0):  # cold: empty warehouse at the usual path
                fresh_warehouse(warehouse)
                colds.append(als_eca_run(data, warehouse, force=True)[0])
            noop, _, line = als_eca_run(data, warehouse, force=False)
            forced = als_eca_run(data, warehouse, force=True)[0] if scale <= 10 else float("nan")
        row = {"scale": scale, "new_path_s": new_path, "cold_s": statistics.median(colds) if colds else float("nan"),
               "colds": colds, "noop_s": noop, "forced_rerun_s": forced, "peak_rss_mib": peak, "noop_line": line,
               "loop_s": loop}
        rows.append(row)
        print(f"whole graph, scale {scale:g}: first run on a new path {new_path:.1f} s, cold "
              f"{row['cold_s']:.1f} s {[round(c, 1) for c in colds]}, nothing changed {noop:.1f} s, forced re-run "
              f"{forced:.1f} s, peak RSS {peak:.0f} MiB, reference loop {loop:.2f} s")
    return rows


def _cell(value: float) -> str:
    return "" if value != value else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--data-root", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs at scales <= 10 (the median is reported)")
    args = parser.parse_args()
    args.data_root.mkdir(parents=True, exist_ok=True)
    rows = run(args.scales, args.data_root, args.repeats)
    write_section("Whole graph", [
        "Goals at scale 1: cold <= 30 s, re-run with nothing changed <= 10 s; peak memory at scale 100 <= 4 GiB.",
        "Each run is `als-eca run` in a fresh process, one after another on one warehouse path: first run on that "
        "path (dbt re-parses its project, since its profile names the warehouse path); cold: the warehouse, its "
        "snapshot and its run stamp deleted, so everything is built from nothing (median of the runs listed); "
        "nothing changed: a plain re-run; forced: `--force` on the built warehouse. Peak RSS: the first run's "
        "process. Reference loop: a fixed pure-Python loop timed just before, for the host's speed (it varies by "
        "up to ~1.6x here from minute to minute).", "",
        "| scale | first run, new path (s) | cold (s) | cold runs (s) | nothing changed (s) | forced re-run (s) "
        "| peak RSS (MiB) | reference loop (s) |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {r['scale']:g} | {r['new_path_s']:.1f} | {_cell(r['cold_s'])} | "
          f"{', '.join(f'{c:.1f}' for c in r['colds'])} | {r['noop_s']:.1f} | {_cell(r['forced_rerun_s'])} | "
          f"{r['peak_rss_mib']:.0f} | {r['loop_s']:.2f} |" for r in rows],
        "", *verdicts(rows), "", NOTES,
    ])


def _verdict(what: str, value: float, goal: float, unit: str, digits: int = 1) -> str:
    return f"- {what}: {value:.{digits}f} {unit}, goal {goal:g} {unit}: " + (
        "met." if value <= goal else f"missed by {value - goal:.{digits}f} {unit}.")


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if r["scale"] == 1:
            out += [_verdict("Scale 1 cold", r["cold_s"], 30, "s"),
                    _verdict("Scale 1 nothing changed", r["noop_s"], 10, "s")]
        if r["scale"] == 100:
            out.append(_verdict("Scale 100 peak memory", r["peak_rss_mib"] / 1024, 4, "GiB", digits=2))
    return out


NOTES = """Where the time goes (scale 1): ~11 s in dbt (1.8 s start-up, then 204 nodes: 36 models, 1 seed, 167 tests \
at ~40 ms each - dbt's per-node cost, not DuckDB's); ~4 s importing Dagster, dagster-dbt and GX; ~3 s for GX \
(import and the first context); ~2 s loading raw files; ~3 s for the analysis steps; the rest is Dagster's \
per-step work. Per-column dbt tests were kept (one named check per column in the UI) although merging them would \
save ~2 s.

Before/after (scale 1, cold, through `als-eca run`):
- 37.5 s: the previous figure (dbt's version read from package metadata instead of a 3 s `dbt --version` \
subprocess, two dbt threads: 18.5 -> 11.8 s for the dbt step).
- 26.4 s (single run): bytecode compiled at install (`uv sync --compile-bytecode`). These machines set \
`PYTHONDONTWRITEBYTECODE`, so every process recompiled ~1,400 modules of Dagster, dbt and GX from source \
(~10 s of every run; `dbt --version` alone 3.0 -> 1.8 s).
- dbt tests no longer store a view of their failing rows (`dbt build` 10.6 -> 8.9 s); a failed check re-runs \
its compiled SQL for the sample instead.
- The analysis steps' imports (scipy, matplotlib: ~2.5 s) moved off the critical path: imported on first use and \
warmed in a background thread while dbt runs in its own process on the other core.
- dbt's parse state is handed back after each run, so the next run on the same warehouse parses only what \
changed. dbt re-parses everything (~3-5 s) when the profile, which names the warehouse path, differs from the \
saved state's: hence the first run on a new path is slower than a cold run at the usual path.

A run recorded in a persistent Dagster instance (`make demo`, `dagster dev`: the run history the UI shows) \
costs ~7 s more at scale 1 than these runs on an ephemeral instance: Dagster's SQLite event log commits ~900 \
events one by one (outputs, 201 check evaluations and their plans, 72 materialisations and their plans).

A re-run with nothing changed compares a fingerprint of the source files (name, size, modification time) and of \
the code with the last successful run's and exits; `--force` re-runs everything."""


if __name__ == "__main__":
    main()
