"""`als-eca analyze`: the matched survival analysis of a cohort file, written into the --out folder through the
same store and under the same names as the Dagster analysis assets (als_eca.study.store): results.json, the
figures of the matched set and the sensitivity analyses.

The same study steps serve the analysis assets, so the command reproduces their numbers exactly from an exported
`mart_survival_cohort`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from als_eca.study.store import AnalysisStore, StepOutput


def read_cohort(path: Path) -> pd.DataFrame:
    """A cohort file (CSV or Parquet) with the columns of mart_survival_cohort; subject ids kept as text."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such cohort file")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"subject_id": str})


def analyze_cohort_file(cohort_path: Path, out: Path, tau: float | None = None, caliper: float | None = None,
                        ratio: int = 1, analysis: str = "replication") -> Path:
    """Run the analysis and write `out/results.json`, the KM curves, love plot, PS overlap and Cox forest plot
    (`km_matched.png`, `love_plot.png`, `ps_overlap.png`, `cox_forest.png`) and the sensitivity analyses
    (`sensitivity.json`, `.parquet`); returns the results path. A cohort the matched analysis cannot support
    raises ValueError; a sensitivity analysis it cannot support is recorded as not estimable. `analysis` names the
    rules (analytics.study.ANALYSES: `replication`, the paper's; `aligned`, the target-trial emulation)."""
    from als_eca.study import figures, steps
    from analytics.study import analysis_cohort, validate_cohort

    cohort = analysis_cohort(read_cohort(Path(cohort_path)), analysis)
    options = {"tau": tau, "caliper": caliper, "ratio": ratio}
    matched = steps.matched_analysis(cohort, **options)
    result = matched.objects["study_result"]
    treated = validate_cohort(cohort).set_index("subject_id")["treated"]
    pngs = {"km_matched": figures.km_matched(result), "love_plot": figures.love_plot(result),
            "ps_overlap": figures.ps_overlap(result, treated)}
    if result.cox is not None:  # None: not estimable on this matched set (reported as nulls in results.json)
        pngs["cox_forest"] = figures.cox_forest(result)
    store = AnalysisStore(out)
    store.save_parts(StepOutput(figures=pngs, documents=matched.documents))
    store.save_step("sensitivity", steps.guarded(lambda: steps.sensitivity(cohort, **options)))
    return store.path("results.json")
