"""`als-eca analyze`: the matched survival analysis of a cohort file, written as results.json plus figures.

The same `analytics.study.run_matched_analysis` serves the Dagster analysis assets, so the command reproduces
their numbers exactly from an exported `mart_survival_cohort`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analytics.study import StudyResult, run_matched_analysis, validate_cohort


def read_cohort(path: Path) -> pd.DataFrame:
    """A cohort file (CSV or Parquet) with the columns of mart_survival_cohort; subject ids kept as text."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such cohort file")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"subject_id": str})


def write_figures(result: StudyResult, treated: pd.Series, out: Path) -> list[Path]:
    """KM curves of the matched set (number at risk, log-rank p), love plot, PS overlap and Cox forest plot: the
    figures of the analysis assets, under the same names.

    `treated` is the 0/1 treatment indicator indexed by subject id (every analysed patient)."""
    from als_eca.study import figures

    pngs = {"km_matched": figures.km_matched(result), "love_plot": figures.love_plot(result),
            "ps_overlap": figures.ps_overlap(result, treated)}
    if result.cox is not None:  # None: not estimable on this matched set (reported as nulls in results.json)
        pngs["cox_forest"] = figures.cox_forest(result)
    paths = []
    for name, png in pngs.items():
        path = out / f"{name}.png"
        path.write_bytes(png)
        paths.append(path)
    return paths


def analyze_cohort_file(cohort_path: Path, out: Path, tau: float | None = None, caliper: float | None = None,
                        ratio: int = 1) -> Path:
    """Run the analysis and write `out/results.json` and the figures; returns the results path."""
    cohort = read_cohort(Path(cohort_path))
    result = run_matched_analysis(cohort, tau=tau, caliper=caliper, ratio=ratio)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.write_text(json.dumps(result.to_json_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    analysed = validate_cohort(cohort)
    write_figures(result, analysed.set_index("subject_id")["treated"], out)
    return results_path
