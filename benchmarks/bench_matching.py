"""Benchmark: MatchIt-order greedy matching, O(n log n), against the straightforward scan of every control per
treated patient (the same pairs are asserted) and against R MatchIt when Rscript with MatchIt is installed.

uv run --frozen python benchmarks/bench_matching.py [--treated 20000] [--controls 200000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.matching import greedy_match, greedy_match_naive
from benchmarks.common import measured, write_section

R_SCRIPT = r"""
suppressPackageStartupMessages(library(MatchIt))
s <- read.csv(commandArgs(TRUE)[1])
t0 <- Sys.time()
m <- matchit(treated ~ 1, data = s, method = "nearest", distance = s$ps, m.order = "largest")
cat(as.numeric(difftime(Sys.time(), t0, units = "secs")), sum(!is.na(m$match.matrix[, 1])), "\n")
"""


def r_matchit(st: np.ndarray, sc: np.ndarray) -> tuple[float, int] | None:
    """Seconds R MatchIt takes for the same problem (distance given as the score vector), or None without R."""
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(["Rscript", "-e", "library(MatchIt)"], capture_output=True)
    if check.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "scores.csv"
        pd.DataFrame({"treated": np.r_[np.ones(len(st)), np.zeros(len(sc))], "ps": np.r_[st, sc]}).to_csv(data)
        script = Path(tmp) / "m.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(data)], capture_output=True, text=True, check=True).stdout
    seconds, pairs = out.split()
    return float(seconds), int(pairs)


def run(n_treated: int = 20_000, n_controls: int = 200_000, with_r: bool = True, seed: int = 2023) -> dict:
    rng = np.random.default_rng(seed)
    # Scores like a propensity model's: treated shifted up, many near-ties from rounding.
    st = np.round(rng.beta(3, 5, n_treated), 6)
    sc = np.round(rng.beta(2, 6, n_controls), 6)
    with measured() as fast_m:
        fast = greedy_match(st, sc)
    with measured() as naive_m:
        naive = greedy_match_naive(st, sc)
    pd.testing.assert_frame_equal(fast, naive)
    r = r_matchit(st, sc) if with_r else None
    result = {"treated": n_treated, "controls": n_controls, "fast_s": fast_m.seconds, "naive_s": naive_m.seconds,
              "speedup_vs_naive": naive_m.seconds / fast_m.seconds, "pairs": len(fast),
              "matchit_s": r[0] if r else None, "speedup_vs_matchit": r[0] / fast_m.seconds if r else None}
    print(f"matching {n_treated:,} treated x {n_controls:,} controls: fast {fast_m.seconds:.3f} s, "
          f"naive scan {naive_m.seconds:.2f} s (x{result['speedup_vs_naive']:.0f}, identical pairs)"
          + (f", R MatchIt {r[0]:.2f} s (x{result['speedup_vs_matchit']:.0f}; goal >= 10)" if r else ", R MatchIt: n/a"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treated", type=int, default=20_000)
    parser.add_argument("--controls", type=int, default=200_000)
    args = parser.parse_args()
    r = run(args.treated, args.controls)
    matchit = "n/a" if r["matchit_s"] is None else f"{r['matchit_s']:.2f}"
    vs_matchit = "n/a" if r["speedup_vs_matchit"] is None else f"{r['speedup_vs_matchit']:.0f}"
    write_section("Matching", [
        "| treated | controls | this project (s) | naive scan (s) | x naive | R MatchIt (s) | x MatchIt (goal >= 10) |",
        "|---|---|---|---|---|---|---|",
        f"| {r['treated']:,} | {r['controls']:,} | {r['fast_s']:.3f} | {r['naive_s']:.2f} | "
        f"{r['speedup_vs_naive']:.0f} | {matchit} | {vs_matchit} |",
        "", "Pairs identical to the naive scan (asserted). MatchIt is given the same score vector as `distance`.",
    ])


if __name__ == "__main__":
    main()
