"""Benchmark: O(n log n) greedy matching vs the O(n*m) naive scan (identical pairs asserted).

uv run --frozen python benchmarks/bench_matching.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from analytics.matching import greedy_match, greedy_match_naive


def main() -> None:
    rng = np.random.default_rng(2023)
    print(f"{'treated':>8} {'controls':>9} {'fast s':>8} {'naive s':>8}")
    for n1, n0 in [(300, 1_500), (2_000, 10_000), (5_000, 25_000), (20_000, 100_000), (100_000, 500_000)]:
        st, sc = np.round(rng.random(n1), 4), np.round(rng.random(n0), 4)
        t = time.perf_counter()
        fast = greedy_match(st, sc)
        tf = time.perf_counter() - t
        tn = float("nan")
        if n1 * n0 <= 2e8:
            t = time.perf_counter()
            naive = greedy_match_naive(st, sc)
            tn = time.perf_counter() - t
            pd.testing.assert_frame_equal(fast, naive)
        print(f"{n1:>8} {n0:>9} {tf:>8.3f} {tn:>8.3f}")


if __name__ == "__main__":
    main()
