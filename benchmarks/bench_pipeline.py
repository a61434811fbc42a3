"""Benchmark: the whole asset graph (`als-eca run`) cold, re-run with nothing changed, at several scales, each in
its own process (wall time and that process's peak RSS).

uv run --frozen python -m benchmarks.bench_pipeline [--scales 1 10] [--data-root data/bench]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_section

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
    command = [sys.executable, "-m", "als_eca.cli", "run", "--proact", str(data / "proact"),
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


def run(scales: list[float], root: Path) -> list[dict]:
    rows = []
    for scale in scales:
        data = ensure_data(scale, root)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            warehouse = Path(tmp) / "warehouse.duckdb"
            cold, cold_rss, _ = als_eca_run(data, warehouse, force=True)
            noop, _, line = als_eca_run(data, warehouse, force=False)
            # Above scale 10 only the cold run (for time and peak memory): a forced re-run costs as much again.
            warm = als_eca_run(data, warehouse, force=True)[0] if scale <= 10 else float("nan")
        rows.append({"scale": scale, "cold_s": cold, "noop_s": noop, "forced_rerun_s": warm, "peak_rss_mib": cold_rss,
                     "noop_line": line})
        print(f"whole graph, scale {scale:g}: cold {cold:.1f} s, re-run with nothing changed {noop:.1f} s, "
              f"forced re-run {warm:.1f} s, peak RSS {cold_rss:.0f} MiB")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--data-root", type=Path, default=REPO / "data" / "bench")
    args = parser.parse_args()
    args.data_root.mkdir(parents=True, exist_ok=True)
    rows = run(args.scales, args.data_root)
    write_section("Whole graph", [
        "Goals at scale 1: cold <= 30 s, re-run with nothing changed <= 10 s; peak memory at scale 100 <= 4 GiB.", "",
        "| scale | cold (s) | nothing changed (s) | forced re-run (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|",
        *[f"| {r['scale']:g} | {r['cold_s']:.1f} | {r['noop_s']:.1f} | "
          f"{'' if r['forced_rerun_s'] != r['forced_rerun_s'] else format(r['forced_rerun_s'], '.1f')} | "
          f"{r['peak_rss_mib']:.0f} |" for r in rows],
        "", "Before/after, measured in one Python process with Dagster's step timings (scale 1): the dbt step spent "
        "3 s in a `dbt --version` subprocess and ran one thread - 18.5 s, whole run 35.9 s; with the version read "
        "from the package metadata and two dbt threads - 11.8 s, whole run 31.7 s. Through the `als-eca` command "
        "in a fresh process (this table) the cold run is slower. The cold goal of 30 s is missed: ~8 s go to "
        "imports (Dagster, dagster-dbt, scipy, pandas, matplotlib, GX), ~12 s to dbt (200 nodes, 167 of them "
        "tests, plus 3 s start-up), ~3 s to GX, the rest to raw loading, analysis and Dagster's per-step work.",
        "", "A re-run with nothing changed compares a fingerprint of the source files (name, size, modification "
        "time) and of the code with the last successful run's and exits; `--force` re-runs everything.",
    ])


if __name__ == "__main__":
    main()
