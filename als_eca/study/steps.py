"""The steps of the study, as pure functions over data frames and `analytics` results (no Dagster, no SQL).

Each step returns a `StepOutput` (als_eca.study.store): key numbers (JSON), tables (data frames) and figures (PNG
bytes). The Dagster analysis assets (orchestration/analysis.py) read the marts, call these and show the outputs in
the UI; their IO manager stores each output and hands it to the steps after it; the study report is assembled
from the outputs. `als-eca analyze` (als_eca.study.analyze) runs some of the same steps on a cohort file.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from als_eca.settings import DBT_PROJECT_DIR
from als_eca.study import figures as study_figures
from als_eca.study.html import figure_png
from als_eca.study.store import StepOutput
from analytics.balance import Characteristic, baseline_table, table_one
from analytics.cafs import cafs_test
from analytics.falsification import run_falsifications
from analytics.progression import alsfrs_change, compare_groups, subgroup_survival
from analytics.propensity import propensity_score
from analytics.safety import (
    MEDDRA_VERSION,
    WINDOW_DAYS,
    event_table,
    first_event_summary,
    patient_years,
    safety_overview,
)
from analytics.safety_plots import first_event_plot
from analytics.study import (
    StudyResult,
    analysis_cohort,
    run_matched_analysis,
    sensitivity_variants,
    validate_cohort,
)
from analytics.survival import kaplan_meier, logrank_test, pairwise_logrank


@functools.cache
def exclusion_order() -> list[str]:
    """mart_survival_cohort's exclusion reasons in the order of the paper's cohort flow: the dbt seed the SQL
    follows (read on first use, not at import)."""
    seed = DBT_PROJECT_DIR / "seeds" / "cohort_exclusion_steps.csv"
    return pd.read_csv(seed).sort_values("step_order")["exclusion_reason"].tolist()
GROUP_LABELS = {"control": "PRO-ACT control", "single": "BM-MSC single cycle", "multiple": "BM-MSC multiple"}

# What makes an estimate impossible on a given cohort (too few patients or events, separation, a singular design -
# numpy's LinAlgError is a ValueError - or an empty group): a step reports it as "not estimable" instead of failing.
NOT_ESTIMABLE_ERRORS = (ValueError, ArithmeticError)


def guarded(step: Callable[[], StepOutput], needs: Mapping[str, StepOutput] | None = None,
            context: str | None = None) -> StepOutput:
    """The step's output - or, when a step it needs was not estimable or this cohort cannot support its estimate,
    an output that says why (`{"not_estimable": reason}`, `context` describing the cohort), so the run goes on."""
    reason = next((out.not_estimable if not out.requested  # (passed on as it is: a choice, not a failure)
                   else f"{name} not estimable ({out.not_estimable})" for name, out in (needs or {}).items()
                   if out.not_estimable), None)
    if reason is None:
        try:
            return step()
        except NOT_ESTIMABLE_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}".strip() + (f" (on {context})" if context else "")
    return StepOutput.not_estimable_because(reason)


def cohort_flow(cohort: pd.DataFrame) -> StepOutput:
    """Figure 1: per source, patients in, each exclusion in the paper's order, eligible. The cohort itself (every
    patient, `eligible` and the exclusion reason) is part of the output: the steps after it analyse it."""
    rows = []
    for source, df in cohort.groupby("source", sort=False):
        rows.append((source, "all patients", len(df)))
        reasons = df.loc[~df["eligible"], "exclusion_reason"].value_counts()
        rank = {r: i for i, r in enumerate(exclusion_order())}
        for reason, n in sorted(reasons.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])):
            rows.append((source, f"excluded: {reason}", int(n)))
        rows.append((source, "eligible", int(df["eligible"].sum())))
    flow = pd.DataFrame(rows, columns=["source", "step", "patients"])
    eligible = cohort[cohort["eligible"]]
    numbers = {
        "patients": cohort["source"].value_counts().to_dict(),
        "eligible": eligible["source"].value_counts().to_dict(),
        "eligible_by_group": eligible["group"].value_counts().to_dict(),
    }
    return StepOutput(numbers, {"cohort_flow": flow, "cohort": cohort})


def propensity(cohort: pd.DataFrame, ps_covariates: Sequence[str] | None = None) -> StepOutput:
    """The PS model (R glm, binomial; the paper's covariates unless the study names others) on the eligible
    cohort: coefficients with SE and p, and the scores."""
    df = validate_cohort(cohort)
    fit, scores = propensity_score(df, **({"covariates": ps_covariates} if ps_covariates else {}))
    coef = fit.summary().reset_index(names="term")
    table = pd.DataFrame({"subject_id": df["subject_id"].to_numpy(), "treated": df["treated"].to_numpy(),
                          "ps": scores})
    numbers = {"coef": dict(fit.coef), "deviance": fit.deviance, "null_deviance": fit.null_deviance,
               "n": len(df), "iterations": fit.iterations}
    return StepOutput(numbers, {"propensity_coefficients": coef, "propensity_scores": table})


def matched_analysis(cohort: pd.DataFrame, provenance: dict | None = None, **options) -> StepOutput:
    """PS model, matching, and everything computed on the matched set (analytics.study): the results.json
    contract (as numbers and as the `results` document), the pairs, the scores used, the matched rows, and the
    `StudyResult` itself for the steps after it. `options`: run_matched_analysis's (a study spec's
    `analysis_options()`); `provenance` (als_eca.provenance) is recorded in results.json."""
    result = run_matched_analysis(cohort, **options)
    results = result.to_json_dict()
    if provenance is not None:
        results["provenance"] = provenance
    matched = result.matched
    tables = {
        "matched_pairs": result.matching.pairs,
        "matched_scores": pd.DataFrame({"subject_id": result.scores.index, "ps": result.scores.to_numpy(),
                                        "matched": result.scores.index.isin(result.matched["subject_id"])}),
        "matched_cohort": matched.reset_index(drop=True),
        "diagnostics": diagnostics_table(results),
    }
    return StepOutput(results, tables, documents={"results": results}, objects={"study_result": result})


def diagnostics_table(results: dict) -> pd.DataFrame:
    """The diagnostics of a matched analysis (results.json `diagnostics`) as a table: name, value, threshold,
    verdict and what was found."""
    verdict = {True: "pass", False: "FAIL", None: "not evaluated"}

    def threshold(t) -> str:
        return " to ".join(f"{v:.3g}" for v in t) if isinstance(t, list | tuple) else f"{t:.3g}"

    return pd.DataFrame([{"diagnostic": d["name"], "value": d["value"], "threshold": threshold(d["threshold"]),
                          "verdict": verdict[d["passed"]], "detail": d["detail"]}
                         for d in results.get("diagnostics", [])])


def named_analysis(cohort: pd.DataFrame, analysis: str, provenance: dict | None = None, **options) -> StepOutput:
    """One named analysis (analytics.study.ANALYSES) end to end on every patient's row: its own cohort flow, the
    matched analysis with its estimands and diagnostics (`<analysis>.json` has the results.json shape, plus the
    cohort flow), the diagnostics as a table and its KM figure - each part named `<analysis>_<part>`, apart from
    the replication's own parts."""
    own = analysis_cohort(cohort, analysis)
    own = own.assign(eligible=own["eligible"].astype(bool))
    flow = cohort_flow(own)
    matched = matched_analysis(own[own["eligible"]], provenance, **options)
    result = matched.objects["study_result"]
    numbers = {"analysis": analysis, "cohort_flow": flow.numbers, **matched.numbers}
    tables = {"cohort_flow": flow.tables["cohort_flow"], "diagnostics": matched.tables["diagnostics"],
              "matched_pairs": matched.tables["matched_pairs"]}
    title = f"Overall survival, {analysis} matched set"
    xlabel = "Months from the landmark" if analysis == "aligned" else "Time (months)"
    figures = {"km": study_figures.km_matched(result, title=title, xlabel=xlabel),
               "flow_diagram": study_figures.cohort_flow(flow.tables["cohort_flow"], result,
                                                         title=f"Cohort flow, {analysis} rules")}
    return StepOutput(numbers, {f"{analysis}_{k}": v for k, v in tables.items()},
                      {f"{analysis}_{k}": v for k, v in figures.items()})


def falsification(cohort: pd.DataFrame, analyses: Sequence[str] | None = None, **options) -> StepOutput:
    """Known-null falsification (analytics.falsification): the study's matched analysis of PRO-ACT active arms vs
    placebo and of two random placebo halves, under the replication's and the aligned rules, each with its HR, CI
    and whether the CI covers 1. `analyses`: the rules to run them under (default every named analysis);
    `options`: run_matched_analysis's."""
    table = run_falsifications(cohort, **({"analyses": tuple(analyses)} if analyses else {}), **options)
    return StepOutput({"analyses": table.to_dict(orient="records")}, {"falsification": table})


#: Table 1's rows as the report prints them (analytics.balance.baseline_table): label with unit and summary, the
#: cohort column, the level counted, the SMD covariate (analytics.propensity.design_covariates' names).
TABLE1_ROWS = (
    Characteristic("Age, years, mean (SD)", "age"),
    Characteristic("Sex, male, n (%)", "sex", "M", smd="sex_male"),
    Characteristic("Onset site, bulbar, n (%)", "onset_site", "bulbar", smd="onset_bulbar"),
    Characteristic("Riluzole, n (%)", "riluzole", 1),
    Characteristic("ALSFRS-R at baseline, points, mean (SD)", "alsfrs_r_baseline"),
    Characteristic("Disease duration, months, mean (SD)", "disease_duration_months"),
)


def balance(result: StudyResult, cohort: pd.DataFrame) -> StepOutput:
    """SMD before/after (MatchIt's definition), Table 1 with t / chi-square tests before and after, plots.

    `table1` is the report's layout of the same tests (one row per characteristic: BM-MSC, control, p and SMD
    before matching, then after; the arms' sizes in `numbers["n"]`); `table1_before` / `table1_matched` keep
    every level with the test statistics."""
    smd = pd.DataFrame({
        "covariate": result.smd_before.index,
        "smd_before": result.smd_before["smd"].to_numpy(),
        "smd_after": result.smd_after["smd"].reindex(result.smd_before.index).to_numpy(),
    })
    spec = dict(continuous=["age", "alsfrs_r_baseline", "disease_duration_months"],
                categorical=["sex", "onset_site", "riluzole"],
                labels={"age": "Age (years)", "alsfrs_r_baseline": "Baseline ALSFRS-R",
                        "disease_duration_months": "Disease duration (months)", "sex": "Sex",
                        "onset_site": "Onset site", "riluzole": "Riluzole"})
    eligible = cohort[cohort["eligible"].astype(bool)].copy()
    eligible["arm"] = np.where(eligible["treated"] == 1, "BM-MSC", "Control")
    matched = result.matched.copy()
    matched["arm"] = np.where(matched["treated"] == 1, "BM-MSC", "Control")
    t1_before = table_one(eligible, "arm", **spec)
    t1_after = table_one(matched, "arm", **spec)
    before, after = (baseline_table(frame, "arm", "BM-MSC", "Control", TABLE1_ROWS, smd_table["smd"])
                     for frame, smd_table in ((eligible, result.smd_before), (matched, result.smd_after)))
    table1 = pd.concat([before.drop(columns="test").add_suffix("_before").rename(
                            columns={"characteristic_before": "characteristic"}),
                        after.drop(columns=["characteristic", "test"]).add_suffix("_after")], axis=1)
    treated = pd.Series(eligible["treated"].to_numpy(), index=eligible["subject_id"].to_numpy())
    # the flow diagram needs both the cohort flow (recounted from the same cohort) and the matched pairs
    figures = {"love_plot": study_figures.love_plot(result), "ps_overlap": study_figures.ps_overlap(result, treated),
               "cohort_flow_diagram": study_figures.cohort_flow(cohort_flow(cohort).tables["cohort_flow"], result)}
    numbers = {"max_abs_smd_after": float(np.nanmax(np.abs(smd["smd_after"]))),
               "all_smd_after_below_0_1": bool((np.abs(smd["smd_after"]) < 0.1).all()),
               "n": {when: {"treated": int((frame["treated"] == 1).sum()), "control": int((frame["treated"] == 0).sum())}
                     for when, frame in (("before", eligible), ("after", matched))},
               "table1_tests": dict(zip(before["characteristic"], before["test"], strict=True))}
    return StepOutput(numbers, {"smd": smd, "table1": table1, "table1_before": t1_before,
                                "table1_matched": t1_after}, figures)


def _km_row(label: str, km, times) -> dict:
    """A KM summary row: N, deaths, median with its CI and survival at `times` (days: the study's
    survival_times_days)."""
    med, lo, hi = km.median()
    at = km.survival_at(list(times))
    row = {"group": label, "n": km.n, "events": km.events, "median_days": med, "median_lower": lo,
           "median_upper": hi}
    row.update({f"surv_{int(t)}d": s for t, s in zip(at["time"], at["surv"], strict=True)})
    return row


def survival(result: StudyResult) -> StepOutput:
    """KM (log CI) per arm and per injection group, medians, survival at 1-3 years, log-rank (2 and 3 groups,
    pairwise), RMST at tau."""
    m = result.matched
    t, e = m["time_days"].to_numpy(float), m["event"].to_numpy(int)
    grp = m["group"].astype(str).to_numpy()
    km_groups = {g: kaplan_meier(t[grp == g], e[grp == g]) for g in ("control", "single", "multiple") if (grp == g).any()}
    three = logrank_test(t, e, grp) if len(km_groups) > 1 else None
    pairs = pairwise_logrank(t, e, grp) if len(km_groups) > 2 else None
    times = result.survival_times
    table = pd.DataFrame([_km_row("BM-MSC (matched)", result.km["treated"], times),
                          _km_row("PRO-ACT control (matched)", result.km["control"], times)]
                         + [_km_row(GROUP_LABELS[g], k, times) for g, k in km_groups.items()])
    rmst = pd.DataFrame([
        {"arm": a, "tau_days": result.tau, "rmst_days": result.rmst[a][0], "se_days": result.rmst[a][1]}
        for a in ("treated", "control")
    ])
    numbers = {
        "logrank": {"chisq": result.logrank.chisq, "p": result.logrank.p},
        "logrank_three_groups": {"chisq": three.chisq, "p": three.p} if three else None,
        "rmst": {a: {"tau": result.tau, "estimate": result.rmst[a][0], "se": result.rmst[a][1]}
                 for a in ("treated", "control")},
        "rmst_difference_days": result.rmst["treated"][0] - result.rmst["control"][0],
    }
    tables = {"km_summary": table, "rmst": rmst}
    if pairs is not None:
        tables["pairwise_logrank"] = pairs
    figures = {
        "km_matched": study_figures.km_matched(result),
        "km_groups": study_figures.km_curves({GROUP_LABELS[g]: k for g, k in km_groups.items()},
                                             three.p if three else None,
                                             title="Overall survival by injection group, matched set"),
    }
    return StepOutput(numbers, tables, figures)


def cox(result: StudyResult) -> StepOutput:
    """Cox PH (Efron) with the paper's covariates, model-based and pair-clustered variance, PH test, forest plot."""
    if result.cox is None:
        note = pd.DataFrame({"term": ["(model)"], "note": ["not estimable on this matched set (e.g. no deaths in "
                                                          "a group: infinite hazard ratio)"]})
        return StepOutput({"hr": {}, "p": {}, "ph_global_p": None, "estimable": False,
                           "not_estimable": "the Cox model cannot be fitted on this matched set"},
                          {"cox": note, "cox_robust": note, "cox_zph": note})
    terms = [t for t in result.cox_terms if t in result.cox.summary(robust=False).index]
    model = result.cox.summary(robust=False).loc[terms].reset_index(names="term")
    robust = result.cox_robust.summary(robust=True).loc[terms].reset_index(names="term")
    zph = result.ph_test
    figures = {"cox_forest": study_figures.cox_forest(result)}
    numbers = {"hr": dict(zip(model["term"], model["hr"], strict=True)),
               "p": dict(zip(model["term"], model["p"], strict=True)),
               "ph_global_p": float(zph.loc["GLOBAL", "p"]), "estimable": True}
    return StepOutput(numbers, {"cox": model, "cox_robust": robust, "cox_zph": zph.reset_index(names="term")},
                      figures)


def progression(result: StudyResult, visits: pd.DataFrame) -> StepOutput:
    """Initial progression speed (control vs treated; single vs multiple), baseline ALSFRS-R by injection group,
    ALSFRS-R change baseline -> 12 months (the t-test compares those with a 12-month visit; CAFS ranks every
    matched patient, survival first, then that change), Korean vs non-Korean survival among matched treated
    patients."""
    m = result.matched
    arm = np.where(m["treated"] == 1, "treated", "control")
    speed = compare_groups(m["progression_speed"], arm, "control", "treated")
    tr = m[m["treated"] == 1]
    speed_inj = compare_groups(tr["progression_speed"], tr["group"], "single", "multiple")
    base_inj = compare_groups(tr["alsfrs_r_baseline"], tr["group"], "multiple", "single")
    baseline = pd.Series(m["alsfrs_r_baseline"].to_numpy(float), index=m["subject_id"].to_numpy())
    change = alsfrs_change(visits[visits["subject_id"].isin(m["subject_id"])], baseline)
    change = change.merge(m[["subject_id", "group", "treated"]], on="subject_id")
    ch_arm = compare_groups(change["change"], np.where(change["treated"] == 1, "treated", "control"),
                            "treated", "control")
    ch_tr = change[change["treated"] == 1]
    ch_inj = compare_groups(ch_tr["change"], ch_tr["group"], "multiple", "single")
    # CAFS on the whole matched set: the change only decides pairs both alive at their common time, so deaths
    # are not dropped as in the t-test above; a patient without a 12-month change (NaN) ties such pairs
    m_change = m["subject_id"].map(change.set_index("subject_id")["change"]).to_numpy(float)
    cafs = dataclasses.asdict(cafs_test(m["time_days"].to_numpy(float), m["event"].to_numpy(int), m_change,
                                        m["treated"].to_numpy(int)))
    korean = subgroup_survival(tr.assign(korean=tr["korean"].map({1: "Korean", 0: "non-Korean"})), "korean")

    def row(name, c):
        return {"comparison": name, **{k: getattr(c, k) for k in (
            "group_a", "n_a", "mean_a", "sd_a", "group_b", "n_b", "mean_b", "sd_b", "difference", "t", "df", "p")}}

    comparisons = pd.DataFrame([
        row("progression speed (points/month)", speed),
        row("progression speed, treated by injection group", speed_inj),
        row("baseline ALSFRS-R, treated by injection group", base_inj),
        row("ALSFRS-R change baseline -> 12 months", ch_arm),
        row("ALSFRS-R change, treated by injection group", ch_inj),
    ])
    korean_table = pd.DataFrame([_km_row(g, k, result.survival_times) for g, k in korean.km.items()])
    numbers = {"speed_control_mean": speed.mean_a, "speed_treated_mean": speed.mean_b, "speed_p": speed.p,
               "change_p": ch_arm.p, "cafs": cafs, "korean_logrank_p": korean.logrank.p,
               "korean_n": {g: k.n for g, k in korean.km.items()}}
    figures = {"km_korean": study_figures.km_curves(korean.km, korean.logrank.p,
                                                    title="Matched BM-MSC patients: Korean vs non-Korean")}
    tables = {"comparisons": comparisons, "cafs": pd.DataFrame([cafs]), "alsfrs_change": change,
              "korean": korean_table}
    return StepOutput(numbers, tables, figures)


def sensitivity(cohort: pd.DataFrame, names: Sequence[str] | None = None, **options) -> StepOutput:
    """One row per sensitivity analysis of analytics.study (`sensitivity_variants`): (a) progression speed added
    to the PS model; (b) only patients within the speed IQR; (c) control deaths counted only within the ALSFRS
    follow-up, when the cohort has that outcome. One that cannot be estimated here gets a note instead. `names`:
    the ones to run (default all); `options`: run_matched_analysis's."""
    labels = {"ps_with_speed": "PS model + progression speed", "speed_iqr": "progression speed within Q1-Q3",
              "within_followup": "control deaths counted only within ALSFRS follow-up"}
    rows = []
    for name, run in sensitivity_variants(cohort, **options).items():
        if names is not None and name not in names:
            continue
        try:
            r = run()
        except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:  # e.g. too few patients in the IQR
            rows.append({"analysis": labels[name], "note": f"not estimable: {exc}"})
            continue
        s = r.cox.summary(robust=False) if r.cox is not None else pd.DataFrame({"hr": pd.Series(dtype=float)})
        rows.append({
            "analysis": labels[name],
            "pairs": len(r.matching.pairs), "deaths_treated": r.km["treated"].events,
            "deaths_control": r.km["control"].events, "logrank_p": r.logrank.p,
            "rmst_treated": r.rmst["treated"][0], "rmst_control": r.rmst["control"][0],
            "hr_single": s["hr"].get("group_single"), "hr_multiple": s["hr"].get("group_multiple"),
            "max_abs_smd_after": float(np.nanmax(np.abs(r.smd_after["smd"]))),
            "note": "" if r.cox is not None else "Cox model not estimable",
        })
    table = pd.DataFrame(rows)
    return StepOutput({"analyses": table.to_dict(orient="records")}, {"sensitivity": table})


def safety(ae: pd.DataFrame, n_safety: int, patients: pd.DataFrame | None = None,
           meddra_version: str = MEDDRA_VERSION, min_pct: Mapping[str, float] | None = None,
           window_days: int = WINDOW_DAYS) -> StepOutput:
    """Overview and Tables 2-4 (AE >= 5 %, ADR, SAE >= 1 %) over the safety window after the first injection
    (`window_days`: the window the AE frame's `within_safety_window` was computed for; the paper's one year by
    default), coded with MedDRA `meddra_version`. With `patients` (subject_id, followup_end_day, death_day: days from the first
    injection) also the rates per 100 patient-years of exposure in the window and the time to the first AE and
    SAE (Kaplan-Meier table and cumulative-incidence figure). `min_pct`: per table kind (ae, adr, sae) the share
    of patients a PT needs to be listed (default the paper's)."""
    overview = safety_overview(ae, n_safety, patients=patients, window_days=window_days)
    tables = {"safety_overview": overview,
              **{f"{kind}_table": event_table(ae, n_safety, kind, patients=patients, min_pct=(min_pct or {}).get(kind),
                                              window_days=window_days) for kind in ("ae", "adr", "sae")}}
    numbers = {"n_safety": n_safety, "meddra_version": meddra_version, "window_days": window_days,
               **{r.category: {"patients": r.n_patients, "pct": r.pct, "events": r.n_events}
                  for r in overview.itertuples()}}
    figures = {}
    if patients is not None:
        first, curves = first_event_summary(ae, patients, window_days=window_days)
        tables["first_event"] = first
        numbers["patient_years"] = patient_years(patients, window_days)
        numbers["patients_with_exposure"] = int(patients["followup_end_day"].notna().sum())
        numbers["first_event"] = {r["kind"]: {"events": int(r["events"]), "median_days": r["median"]}
                                  for r in first.to_dict(orient="records")}
        figures["first_event"] = figure_png(first_event_plot(curves, window_days=window_days))
    return StepOutput(numbers, tables, figures)
