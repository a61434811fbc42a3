"""``python -m analytics COHORT [-o results.json]``: the matched analysis on a cohort file (CSV or Parquet).

A thin command line for analysts and for reproducing results.json outside Dagster; the project CLI
(``als-eca``) calls :func:`analytics.study.run_matched_analysis` directly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from analytics.study import run_matched_analysis


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analytics", description=__doc__.splitlines()[0])
    ap.add_argument("cohort", type=Path, help="mart_survival_cohort as .csv or .parquet")
    ap.add_argument("-o", "--out", type=Path, help="write results.json here (default: stdout)")
    ap.add_argument("--tau", type=float, default=None, help="RMST horizon in days")
    ap.add_argument("--caliper", type=float, default=None, help="caliper in SD of the propensity score")
    ap.add_argument("--ratio", type=int, default=1, help="controls per treated patient")
    ap.add_argument("--extra-ps-covariate", action="append", default=[], help="e.g. progression_speed")
    a = ap.parse_args(argv)
    if a.cohort.suffix == ".parquet":
        cohort = pd.read_parquet(a.cohort)
    else:
        cohort = pd.read_csv(a.cohort, dtype={"subject_id": str})
    try:
        res = run_matched_analysis(
            cohort,
            tau=a.tau,
            caliper=a.caliper,
            ratio=a.ratio,
            extra_ps_covariates=tuple(a.extra_ps_covariate),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(res.to_json_dict(), indent=2, allow_nan=False)
    if a.out:
        a.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
