"""Benchmark: Kaplan-Meier, log-rank and the Efron Cox model on 1,000,000 rows (vectorised; no per-row Python).

uv run --frozen python -m benchmarks.bench_survival [--rows 1000000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from analytics.cox import fit_cox
from analytics.survival import kaplan_meier, logrank_test
from benchmarks.common import measured, write_section


def run(rows: int = 1_000_000, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, rows)
    x = pd.DataFrame({"treated": group.astype(float), "age_ge54": (rng.uniform(size=rows) < 0.5).astype(float),
                      "bulbar": (rng.uniform(size=rows) < 0.22).astype(float)})
    lp = np.log(0.5) * x["treated"] + 0.8 * x["age_ge54"] + 0.2 * x["bulbar"]
    death = rng.weibull(1.25, rows) * 900 * np.exp(-lp / 1.25)
    censor = rng.uniform(100, 2000, rows)
    time = np.round(np.minimum(death, censor))  # whole days: many ties, as in real data (Efron matters)
    event = (death <= censor).astype(int)
    out = {"rows": rows}
    with measured() as m:
        km = kaplan_meier(time, event)
        km.median()
    out["km_s"] = m.seconds
    with measured() as m:
        lr = logrank_test(time, event, group)
    out["logrank_s"], out["logrank_chisq"] = m.seconds, lr.chisq
    with measured() as m:
        cox = fit_cox(time, event, x)
    out["cox_s"], out["cox_hr_treated"] = m.seconds, float(cox.summary().at["treated", "hr"])
    out["peak_rss_mib"] = m.peak_rss_mib
    print(f"survival on {rows:,} rows: KM {out['km_s']:.2f} s, log-rank {out['logrank_s']:.2f} s, "
          f"Cox (Efron, 3 covariates) {out['cox_s']:.2f} s (HR {out['cox_hr_treated']:.3f}, true 0.5); "
          f"peak RSS {out['peak_rss_mib']:.0f} MiB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    r = run(parser.parse_args().rows)
    write_section("Survival statistics", [
        "| rows | Kaplan-Meier (s) | log-rank (s) | Cox, Efron, 3 covariates (s) | peak RSS (MiB) |",
        "|---|---|---|---|---|",
        f"| {r['rows']:,} | {r['km_s']:.2f} | {r['logrank_s']:.2f} | {r['cox_s']:.2f} | {r['peak_rss_mib']:.0f} |",
    ])


if __name__ == "__main__":
    main()
