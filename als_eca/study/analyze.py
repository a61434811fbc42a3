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
                        ratio: int | None = None, analysis: str = "replication", study=None) -> Path:
    """Run the analysis and write `out/results.json`, the KM curves, love plot, PS overlap and Cox forest plot
    (`km_matched.png`, `love_plot.png`, `ps_overlap.png`, `cox_forest.png`) and the sensitivity analyses
    (`sensitivity.json`, `.parquet`); returns the results path. A cohort the matched analysis cannot support
    raises ValueError; a sensitivity analysis it cannot support is recorded as not estimable. `analysis` names the
    rules (analytics.study.ANALYSES: `replication`, the paper's; `aligned`, the target-trial emulation). The
    options are `study`'s (a loaded spec, default studies/nam2023.yml), each of tau, caliper and ratio overridden
    when given; results.json records the options used, the spec, the cohort file's sha256 and the code version."""
    from als_eca.provenance import code_version, package_versions, sha256_of
    from als_eca.study import figures, steps
    from als_eca.study.spec import load_study
    from analytics.study import analysis_cohort, validate_cohort

    study = study or load_study()
    options = study.spec.analysis_options()
    overrides = {k: v for k, v in (("tau", tau), ("caliper", caliper), ("ratio", ratio)) if v is not None}
    options.update(overrides)
    provenance = {"command": "als-eca analyze", "analysis": analysis, "cohort_file": str(Path(cohort_path).resolve()),
                  "cohort_sha256": sha256_of(Path(cohort_path)), "options": options,
                  "overridden_by_flags": sorted(overrides), "study": study.provenance(), "code": code_version(),
                  "packages": package_versions()}
    cohort = analysis_cohort(read_cohort(Path(cohort_path)), analysis)
    matched = steps.matched_analysis(cohort, provenance, **options)
    result = matched.objects["study_result"]
    treated = validate_cohort(cohort).set_index("subject_id")["treated"]
    pngs = {"km_matched": figures.km_matched(result), "love_plot": figures.love_plot(result),
            "ps_overlap": figures.ps_overlap(result, treated)}
    if result.cox is not None:  # None: not estimable on this matched set (reported as nulls in results.json)
        pngs["cox_forest"] = figures.cox_forest(result)
    store = AnalysisStore(out)
    store.save_parts(StepOutput(figures=pngs, documents=matched.documents))
    names = study.spec.sensitivity
    store.save_step("sensitivity", steps.guarded(
        lambda: steps.sensitivity(cohort, names, **options) if names else StepOutput.not_requested("sensitivity: []")))
    return store.path("results.json")
