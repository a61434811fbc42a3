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
    """KM curves of the matched set (number at risk, log-rank p), love plot, PS overlap and Cox forest plot.

    `treated` is the 0/1 treatment indicator indexed by subject id (every analysed patient)."""
    from analytics.plots import forest_plot, km_plot, love_plot, ps_overlap

    ids = result.scores.index
    matched = ids.isin(result.matched["subject_id"])
    figures = {
        "km_matched.png": km_plot(
            {"BM-MSC (matched)": result.km["treated"], "PRO-ACT control (matched)": result.km["control"]},
            p_value=result.logrank.p, risk_times=[0, 365, 730, 1095, 1460, 1825], title="Overall survival",
        ),
        "love_plot.png": love_plot(result.smd_before["smd"], result.smd_after["smd"]),
        "ps_overlap.png": ps_overlap(result.scores.to_numpy(), treated.reindex(ids).astype(int).to_numpy(), matched=matched),
    }
    if result.cox is not None:  # None: not estimable on this matched set (reported as nulls in results.json)
        terms = [t for t in result.cox_terms if t in result.cox.summary(robust=False).index]
        figures["cox_forest.png"] = forest_plot(result.cox.summary(robust=False).loc[terms],
                                                title="Cox model, matched set")
    paths = []
    for name, fig in figures.items():
        path = out / name
        fig.savefig(path, dpi=110, bbox_inches="tight")
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
