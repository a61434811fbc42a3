"""The study report: assembled from the analysis assets' outputs (as their IO manager loads them from the store,
als_eca.study.store), one section per part of the paper, each naming the asset its numbers come from. One
self-contained HTML file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from als_eca.study.html import Image, Preformatted, Section, write_report
from als_eca.study.spec import StudySpec, StudySpecError, parse_study
from als_eca.study.store import StepOutput
from als_eca.study.synopsis import documents_of, p_text
from analytics.progression import DAYS_PER_MONTH
from analytics.simulation import headline


def _display(frame: pd.DataFrame, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """Readable numbers: p-values to 3 significant digits (< 0.001 shown as such), other floats rounded."""
    out = frame.drop(columns=[c for c in drop if c in frame.columns]).copy()
    for c in out.columns:
        if not pd.api.types.is_float_dtype(out[c]):
            continue
        if c == "p" or c.endswith("_p") or c.startswith("p_"):
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else p_text(v))
        else:
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.3f}".rstrip("0").rstrip("."))
    return out


def _hr_ci(hr: float, lower: float, upper: float) -> str:
    return "" if pd.isna(hr) else f"{hr:.2f} ({lower:.2f}-{upper:.2f})"


def _falsification_table(table: pd.DataFrame) -> pd.DataFrame:
    """One line per analysis and comparison: pairs, deaths, HR with CI, whether it covers 1 (the label is the
    section's text; as a column it wrapped into a tall narrow cell)."""
    out = pd.DataFrame({
        "rules": table["analysis"], "comparison": table["falsification"].str.replace("_", " "),
        "pairs": table.get("pairs"),
        "deaths (as treated / control)": [
            "" if pd.isna(a) else f"{a:.0f} / {b:.0f}" for a, b in zip(table.get("deaths_treated"),
                                                                        table.get("deaths_control"), strict=True)],
        "HR (95 % CI)": [_hr_ci(*r) for r in zip(table["hr"], table["lower"], table["upper"], strict=True)],
        "CI covers 1": table["covers_null"].map({True: "yes", False: "NO"}).fillna("n/a"),
        "log-rank p": table["logrank_p"].map(lambda v: "" if pd.isna(v) else p_text(v)),
    })
    if table.get("note") is not None and table["note"].fillna("").astype(bool).any():
        out["note"] = table["note"]
    return out


def _sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    """One line per sensitivity analysis, paired figures in one cell each so the table fits the page."""
    def pair(a: str, b: str, fmt: str) -> list[str]:
        return ["" if pd.isna(x) else f"{x:{fmt}} / {y:{fmt}}" for x, y in zip(table[a], table[b], strict=True)]

    out = pd.DataFrame({
        "analysis": table["analysis"], "pairs": table["pairs"],
        "deaths BM-MSC / control": pair("deaths_treated", "deaths_control", ".0f"),
        "RMST BM-MSC / control (days)": pair("rmst_treated", "rmst_control", ".0f"),
        "HR single": table["hr_single"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        "HR multiple": table["hr_multiple"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        "log-rank p": table["logrank_p"].map(lambda v: "" if pd.isna(v) else p_text(v)),
        "max |SMD| after": table["max_abs_smd_after"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}"),
    })
    if "note" in table and table["note"].fillna("").astype(bool).any():
        out["note"] = table["note"]
    return out


def _days(value: float | None) -> str:
    """A median survival in a sentence; NR when it was not reached (None or NaN: the curve stayed above 50 %)."""
    if value is None or pd.isna(value):
        return "NR (not reached)"
    return f"{value:.0f} days ({value / DAYS_PER_MONTH:.1f} months)"


def _nr(value: float | None) -> str:
    """A median or its confidence limit in a table: NR when not reached (analytics.survival gives NaN then)."""
    return "NR" if value is None or pd.isna(value) else f"{value:.0f}"


#: The legend under every Kaplan-Meier summary table: NR is never a blank cell.
KM_LEGEND = ("NR: not reached (the survival curve, or its confidence limit, stayed above 50 %). A blank survival "
             "cell is unknown: no patient of the group was followed that long.")


def _km_table(table: pd.DataFrame) -> pd.DataFrame:
    """A Kaplan-Meier summary (steps._km_row's columns) as printed: group, N, deaths, median survival in days with
    its 95 % CI - NR where not reached - and survival at the spec's survival_times_days in %. The injection groups' control row
    repeats the matched control arm's: shown once."""
    if {"PRO-ACT control", "PRO-ACT control (matched)"} <= set(table["group"]):
        table = table[table["group"] != "PRO-ACT control"]
    out = pd.DataFrame({
        "group": table["group"], "N": table["n"], "deaths": table["events"],
        "median survival, days (95 % CI)": [
            f"{_nr(m)} ({_nr(lo)}-{_nr(hi)})" for m, lo, hi in
            zip(table["median_days"], table["median_lower"], table["median_upper"], strict=True)],
    })
    for column in [c for c in table.columns if c.startswith("surv_") and c.endswith("d")]:
        days = int(column.removeprefix("surv_").removesuffix("d"))
        label = f"survival at {days / 365:.0f} year{'s' if days > 365 else ''}, %" if days % 365 == 0 \
            else f"survival at {days} days, %"
        out[label] = table[column].map(lambda v: "" if pd.isna(v) else f"{100 * v:.1f}")
    return out


def _table1(balance: StepOutput) -> pd.DataFrame:
    """Table 1 in a clinical report's layout: characteristic, then before and after matching BM-MSC and PRO-ACT
    control (each with its N), p and SMD - two column groups under one header (steps.balance's `table1`)."""
    table, n = balance.tables["table1"], balance.numbers["n"]
    columns = {("", "Characteristic"): table["characteristic"]}
    for when, title in (("before", "Before matching (eligible)"), ("after", "After matching")):
        columns[(title, f"BM-MSC (N={n[when]['treated']})")] = table[f"treated_{when}"]
        columns[(title, f"PRO-ACT control (N={n[when]['control']})")] = table[f"control_{when}"]
        columns[(title, "p")] = table[f"p_{when}"].map(lambda v: "" if pd.isna(v) else p_text(v).replace(" ", "\u00a0"))
        columns[(title, "SMD")] = table[f"smd_{when}"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return pd.DataFrame(columns)


def _not_estimable(outputs: Mapping[str, StepOutput], names: tuple[str, ...]) -> str | None:
    return next((f"{name}: {why}" for name in names if (why := outputs[name].not_estimable)), None)


def _section(outputs: Mapping[str, StepOutput], title: str, asset: str, needs: tuple[str, ...], build) -> Section:
    """A section of the report, or - when a step it needs could not make its estimate on this cohort - the
    section with the reason instead of numbers (never a crash, never a stale figure)."""
    skipped = next((outputs[name] for name in needs if not outputs[name].requested), None)
    if skipped is not None:
        return Section(title, asset, [f"Not run: {skipped.not_estimable}."])
    reason = _not_estimable(outputs, needs)
    if reason is not None:
        return Section(title, asset, [f"Not estimable on this cohort - {reason}."])
    return Section(title, asset, build())


def _summary(results: dict) -> str:
    """One analysis in a sentence: pairs, deaths, HRs with CI, log-rank p, RMST difference with CI."""
    km_t, km_c = results["km"]["treated"], results["km"]["control"]
    terms = results["cox"]["terms"]
    contrast = results["estimands"]["rmst_contrast"]

    def hr(term: str) -> str:
        t = terms[term]
        return "n/a" if t["hr"] is None else f"{t['hr']:.2f} (95 % CI {t['lower']:.2f}-{t['upper']:.2f})"

    return (f"{len(results['matching']['pairs'])} matched pairs; deaths {km_t['events']} BM-MSC, {km_c['events']} "
            f"control. HR single cycle {hr('group_single')}, multiple {hr('group_multiple')}; log-rank p "
            f"{p_text(results['logrank']['p'])}. RMST difference at {contrast['tau']:.0f} days "
            f"{contrast['difference']:.0f} days (95 % CI {contrast['difference_lower']:.0f} to "
            f"{contrast['difference_upper']:.0f}).")


def build_sections(outputs: Mapping[str, StepOutput]) -> list[Section]:
    """The report's sections from each analysis asset's output, by asset name."""

    def frame(step: str, table: str) -> pd.DataFrame:
        return outputs[step].tables[table]

    def png(step: str, figure: str) -> bytes:
        return outputs[step].figures[figure]

    def numbers(step: str) -> dict:
        return outputs[step].numbers

    flow = numbers("cohort_flow")
    matched = _not_estimable(outputs, ("matched_cohort",)) is None
    results = outputs["matched_cohort"].documents["results"] if matched else {}

    def survival_text() -> str:
        surv, km_t, km_c = numbers("survival"), results["km"]["treated"], results["km"]["control"]
        return (f"Deaths: {km_t['events']} of {km_t['n']} BM-MSC, {km_c['events']} of {km_c['n']} controls; log-rank "
                f"chi-square {surv['logrank']['chisq']:.2f}, p {p_text(surv['logrank']['p'])}. Median survival: BM-MSC "
                f"{_days(km_t['median'])}, control {_days(km_c['median'])}. RMST at "
                f"{surv['rmst']['treated']['tau']:.0f} days: BM-MSC {surv['rmst']['treated']['estimate']:.0f} (SE "
                f"{surv['rmst']['treated']['se']:.1f}), control {surv['rmst']['control']['estimate']:.0f} (SE "
                f"{surv['rmst']['control']['se']:.1f}).")

    def cafs_text() -> str:
        c = numbers("progression")["cafs"]
        return (f"CAFS (combined assessment of function and survival; Berry et al. 2013): every matched patient ranked "
                f"against every other, first on survival over their common follow-up up to {c['horizon_days']:.0f} "
                f"days, then - only if both were alive - on the ALSFRS-R change at 12 months ({c['n_change_missing']} "
                f"patients without one: such pairs tie); Finkelstein-Schoenfeld test of the BM-MSC patients' scores "
                f"p {p_text(c['fs_p'])}, probability that a BM-MSC patient fares better than a control "
                f"{c['win_probability']:.2f}.")

    pairs = f"{len(results['matching']['pairs'])} pairs" if matched else "not estimable"
    sections = [
        _section(outputs, "Aligned analysis (target-trial emulation): read this first", "analysis/aligned_analysis",
                 ("aligned_analysis",), lambda: [
            "The paper's rules start the controls' clock at trial day 0 while treated patients must first survive to "
            "a second injection and two ALSFRS-R assessments, and count control deaths long after their last visit "
            "while censoring survivors at it. The aligned analysis starts both arms at a landmark known in both "
            "(the second ALSFRS-R after the index; for treated patients not before the second injection), applies "
            "the paper's conditions to both, counts deaths only within each patient's observation window and uses "
            "one progression-speed definition (docs/study_design.md).",
            _summary(numbers("aligned_analysis")),
            "Design diagnostics (threshold and verdict; a FAIL is a warning about the design, shown, never hidden):",
            _display(frame("aligned_analysis", "aligned_diagnostics")),
            "Cohort flow under the aligned rules:",
            frame("aligned_analysis", "aligned_cohort_flow"),
            Image("Cohort flow under the aligned rules: exclusions per source, eligible patients, 1:1 matching "
                  "and the analysed matched set", png("aligned_analysis", "aligned_flow_diagram")),
            Image("Kaplan-Meier curves from the landmark, aligned matched set: 95 % CI bands (log), + censored, "
                  "dashed lines at the median where reached, log-rank p, number at risk every 12 months",
                  png("aligned_analysis", "aligned_km")),
        ]),
        Section("Cohort flow (Figure 1)", "analysis/cohort_flow", [
            f"Eligible: {flow['eligible'].get('PMS', 0)} BM-MSC (PMS) patients and "
            f"{flow['eligible'].get('PRO-ACT', 0)} PRO-ACT placebo controls; matched 1:1: {pairs}.",
            frame("cohort_flow", "cohort_flow"),
            # (the diagram is the balance step's, which has both the flow and the matched pairs)
            *([Image("Cohort flow diagram: per source all patients, each exclusion with its count, eligible "
                     "patients; 1:1 propensity-score matching and the analysed matched set",
                     png("balance", "cohort_flow_diagram"))]
              if _not_estimable(outputs, ("balance",)) is None else []),
        ]),
        _section(outputs, "Propensity score and matching", "analysis/propensity_scores, analysis/matched_cohort",
                 ("propensity_scores", "matched_cohort"), lambda: [
            "Logistic regression (R glm, binomial) of treatment on age, sex, onset site, baseline ALSFRS-R, riluzole "
            "and disease duration; 1:1 greedy nearest-neighbour matching without replacement in MatchIt's order.",
            _display(frame("propensity_scores", "propensity_coefficients")),
            # (the figure is the balance step's: shown only when that step could draw it)
            *([Image("Propensity-score distributions by arm (BM-MSC upwards, PRO-ACT control downwards, number of "
                     "patients): all eligible patients (left) and the matched patients (right)",
                     png("balance", "ps_overlap"))]
              if _not_estimable(outputs, ("balance",)) is None else []),
        ]),
        _section(outputs, "Baseline characteristics (Table 1) and balance", "analysis/balance", ("balance",),
                 lambda: [
            "Table 1 - baseline characteristics of the eligible patients and of the matched set:",
            _table1(outputs["balance"]),
            "p: Welch t-test (mean (SD) rows) or Pearson chi-square over all levels of the characteristic, with "
            "Yates' correction for two levels (n (%) rows). SMD: standardised mean difference as MatchIt computes "
            "it, (BM-MSC mean - control mean) / SD of all eligible BM-MSC patients (the same denominator before and "
            "after matching; for a proportion p, SD = sqrt(p (1 - p))); the paper's balance target is |SMD| < 0.1.",
            Image("Love plot: absolute standardised mean differences before and after matching",
                  png("balance", "love_plot")),
        ]),
        _section(outputs, "Overall survival, matched set", "analysis/survival", ("survival",), lambda: [
            survival_text(),
            _km_table(frame("survival", "km_summary")),
            KM_LEGEND,
            _display(frame("survival", "rmst")),
            Image("Kaplan-Meier curves by arm, matched set: 95 % CI bands (log), + censored, dashed lines at the "
                  "median where reached, log-rank p, number at risk every 12 months", png("survival", "km_matched")),
            Image("Kaplan-Meier curves by injection group, matched set (same conventions; log-rank test of the three "
                  "groups)", png("survival", "km_groups")),
            "Pairwise log-rank tests between injection groups (no multiplicity adjustment):",
            _display(frame("survival", "pairwise_logrank")) if "pairwise_logrank" in outputs["survival"].tables
            else "n/a",
        ]),
        _section(outputs, "Cox proportional hazards model", "analysis/cox_model", ("cox_model",), lambda: [
            "Efron ties; injection group (control reference), sex, onset site, riluzole, ALSFRS-R >= 31, age >= 54. "
            f"Proportional-hazards test (Schoenfeld residuals, cox.zph) global p {p_text(numbers('cox_model')['ph_global_p'])}.",
            _display(frame("cox_model", "cox")),
            "Variance clustered on the matched pair (robust SE):",
            _display(frame("cox_model", "cox_robust")),
            _display(frame("cox_model", "cox_zph")),
            Image("Forest plot: hazard ratios with 95 % confidence intervals (model-based SE), each term against its "
                  "reference level, log scale", png("cox_model", "cox_forest")),
        ]),
        _section(outputs, "Known-null falsification", "analysis/falsification", ("falsification",), lambda: [
            "The study's own matched analysis on comparisons whose true effect is null: PRO-ACT patients of the "
            "trials' active arms (every criterion met but the arm) against the eligible placebo patients - the "
            "pooled trials found no survival benefit - and a random half of the placebo patients against the "
            "other half. Each runs under the replication's rules and under the aligned ones. A CI that excludes 1 "
            "shows a bias that the treatment comparison under the same rules may share.",
            _falsification_table(frame("falsification", "falsification")),
        ]),
        _section(outputs, "Design diagnostics and estimands of the replication", "analysis/matched_cohort",
                 ("matched_cohort",), lambda: [
            _summary(results),
            "The same diagnostics as the aligned analysis, on the paper's rules:",
            _display(frame("matched_cohort", "diagnostics")),
        ]),
        _section(outputs, "Initial progression speed, ALSFRS-R change and Korean subgroup", "analysis/progression",
                 ("progression",), lambda: [
            f"Progression speed (48 - baseline ALSFRS-R) / months from (diagnosis - 12 months): control "
            f"{numbers('progression')['speed_control_mean']:.2f}, BM-MSC "
            f"{numbers('progression')['speed_treated_mean']:.2f} points/month "
            f"(Welch t-test p {p_text(numbers('progression')['speed_p'])}).",
            _display(frame("progression", "comparisons")),
            cafs_text(),
            # one row of ~20 measures: shown as measure | value, so it fits the page
            _display(frame("progression", "cafs"), drop=("horizon_days", "fs_variance")).T.reset_index().set_axis(
                ["measure", "value"], axis=1),
            "Survival of matched BM-MSC patients, Korean vs non-Korean:",
            _km_table(frame("progression", "korean")),
            KM_LEGEND,
            Image("Kaplan-Meier curves, matched BM-MSC patients, Korean vs non-Korean (same conventions as above)",
                  png("progression", "km_korean")),
        ]),
        _section(outputs, "Sensitivity analyses", "analysis/sensitivity", ("sensitivity",), lambda: [
            "(a) progression speed added to the propensity model; (b) only patients between the first and third "
            "quartile of progression speed (re-matched); (c) PRO-ACT deaths counted only within the observation "
            "window (the last ALSFRS visit plus one visit spacing, at least 30 days). The paper's rule takes deaths "
            "from the death file whenever they occurred but censors survivors at their last ALSFRS visit; when "
            "deaths are tracked beyond the visits, this shortens control survival and favours treatment - (c) "
            "shows by how much.",
            _sensitivity_table(frame("sensitivity", "sensitivity")),
        ]),
        _section(outputs, "Safety (Tables 2-4)", "analysis/safety_tables", ("safety_tables",),
                 lambda: _safety_blocks(outputs["safety_tables"])),
    ]
    return sections


def _safety_blocks(out: StepOutput) -> list:
    """The safety section in a clinical study report's layout (as rtables/tern lay it out): the overview, then
    Tables 2-4 with each SOC followed by its PTs indented, 'n (%)' over the safety population N (in the header),
    events and rates per 100 patient-years; the time to the first AE and SAE."""
    from analytics.safety import csr_event_table, csr_first_event, csr_overview

    n = out.numbers
    n_safety, meddra = n["n_safety"], n.get("meddra_version", "(version not recorded)")
    rates = "patient_years" in n
    counting = (f"MedDRA version {meddra}. Events with onset from the first injection (day 0) to day "
                f"{n.get('window_days', 365)}. A patient counts once per row; n (%) = patients (% of the safety "
                f"population, N = {n_safety}), events = all events. A SOC row counts every event of the table's "
                "kind in that SOC, also those of PTs below the table's threshold.")
    if rates:
        counting += (f" Exposure: each patient from the first injection to day {n['window_days']}, the end of "
                     f"follow-up or death, whichever came first - {n['patient_years']:.1f} patient-years (PY) over "
                     f"{n['patients_with_exposure']} patients. Events per 100 PY = all events / PY; patients per "
                     "100 PY = patients with a first event / their time at risk of it (to that event), with the "
                     "exact Poisson 95 % CI (the exposure-adjusted incidence rate).")
    blocks: list = [counting, "Overview of adverse events:", csr_overview(out.tables["safety_overview"], n_safety)]
    for kind, title in (("ae", "Table 2 - adverse events in at least 5 % of patients"),
                        ("adr", "Table 3 - adverse drug reactions (all)"),
                        ("sae", "Table 4 - serious adverse events in at least 1 % of patients")):
        blocks += [f"{title}, by system organ class and preferred term (MedDRA {meddra}):",
                   csr_event_table(out.tables[f"{kind}_table"], n_safety, kind)]
    if rates and "first_event" in out.tables:
        blocks += ["Time to the first event (Kaplan-Meier; censored at the end of follow-up, death or day "
                   f"{n['window_days']}; NR = not reached, NE = not estimable). Cumulative incidence = 1 - KM: with "
                   "death as a competing risk it slightly overstates the incidence.",
                   csr_first_event(out.tables["first_event"])]
        if "first_event" in out.figures:
            blocks.append(Image("Cumulative incidence of the first adverse event and the first serious adverse "
                                "event, with 95 % CI", out.figures["first_event"]))
    return blocks


#: The audit `make bench` records with the code (benchmarks/bench_simulation.py; docs/results/README.md), shown
#: where no local `als-eca simulate` has run. Absent from an installed package: the section then says how to run one.
RECORDED_AUDIT = Path(__file__).resolve().parents[2] / "docs" / "results" / "simulation_audit.json"


def _audit_blocks(doc: dict, label: str) -> list:
    """One audit's configuration sentence and its headline table (single-cycle term and falsifications, model CI)."""
    config = doc["config"]
    table = headline(pd.DataFrame(doc["summary"]))
    table = table.assign(estimable=table["estimable"].astype(int).astype(str) + "/" + table["seeds"].astype(str))
    failed = doc.get("failed_runs") or {}
    return [
        f"{label}{len(config['seeds'])} data sets generated with a true conditional HR of {config['true_hr']} "
        f"(scale {config['scale']}; hidden selection {'on' if config['hidden_selection'] else 'off'}; "
        f"{'complete' if config.get('complete_death_records') else 'calibrated'} PRO-ACT death records), each "
        "through the whole graph." + (f" Runs that failed: {', '.join(map(str, failed))}." if failed else ""),
        _display(table[["analysis", "truth_kind", "estimable", "truth", "mean_hr", "bias_log_hr", "bias_mcse",
                        "coverage", "coverage_mcse", "ci_excludes_1"]]),
    ]


def simulation_section(summary_json: Path | None, recorded: Path | None = RECORDED_AUDIT) -> Section:
    """The simulation bias audit - run separately from the study, on generated data with a known truth: the last
    local `als-eca simulate` (its summary.json) if there is one, else the audit recorded with the code (labelled
    as such, with its commit and date), else how to run one."""
    title, source = "Simulation bias audit", "als-eca simulate"
    how = ("Per analysis, the single-cycle HR against the conditional truth and the marginal truth among the treated "
           "(the HR is non-collapsible), and the falsifications against HR 1: the mean estimate, the bias of the "
           "log HR, and how often the 95 % CI covers the truth (docs/study_design.md).")
    if summary_json is not None and summary_json.is_file():
        return Section(title, source, [how, *_audit_blocks(json.loads(summary_json.read_text()), "")])
    run_one = ("`als-eca simulate --seeds 20` generates data with a known true HR, runs the graph per seed and "
               "writes its bias and CI coverage here.")
    if recorded is None or not recorded.is_file():
        return Section(title, source, [f"Not run on this installation: {run_one}"])
    doc = json.loads(recorded.read_text())
    meta = doc["recorded"]
    blocks = [f"Not run on this installation; shown: the audit recorded with the code by {meta['by']} at commit "
              f"{meta['commit']} on {meta['date']} - not recomputed by this run. {run_one} {how}"]
    for name, scenario in doc["scenarios"].items():
        blocks += _audit_blocks(scenario, f"{name[:1].upper()}{name[1:]}: ")
    return Section(title, source, blocks)


def cuts_section(cuts: list[dict], current: str | None) -> Section:
    """Results by data cut: the headline figures of each PMS export this study has been run on (its own study id's
    recorded cuts, als_eca.study.cuts), this run's cut marked; with two cuts or more, the single-cycle HR per cut."""
    from als_eca.study.cuts import CUT_COLUMNS, cut_rows, hr_points

    title, source = "Results by data cut", "analysis/study_report: cuts/<study id>/<export date>.json (als-eca cuts)"
    how = ("Run an earlier cut with `als-eca run --pms-as-of YYYY-MM-DD` (the newest PMS export on or before that "
           "date), then `als-eca run` again for the latest.")
    if not cuts:
        return Section(title, source, [f"No data cut recorded for this study (the PMS export date is unknown). {how}"])
    blocks: list = [
        "The PMS exports are cumulative: each export date is a data cut. One row per cut and analysis, each from the "
        "latest run of that cut (its run id; code version and time in the cut's file), so a reader sees whether "
        "the result is stable as data accrue.",
        pd.DataFrame(cut_rows(cuts, current), columns=list(CUT_COLUMNS))]
    if len(cuts) == 1:
        blocks.append(f"Only one data cut (PMS export {cuts[0]['export_date']}) has been run for this study. {how}")
        return Section(title, source, blocks)
    points = hr_points(cuts)
    if not points.empty:
        from als_eca.study.figures import hr_by_cut

        blocks.append(Image("Hazard ratio of BM-MSC single cycle vs control with 95 % CI per PMS data cut, one colour "
                            "per analysis (log scale; dashed: HR 1)", hr_by_cut(points, current)))
    return Section(title, source, blocks)


def synopsis_section(outputs: Mapping[str, StepOutput], provenance: dict) -> Section:
    """The box a reader sees first: the study and its choices, then per analysis the cohorts, matched sets,
    deaths, medians, HRs, log-rank p, RMST difference, max |SMD| and the diagnostics' verdicts."""
    from als_eca.study.synopsis import synopsis_of, synopsis_rows

    study = provenance.get("study") or {}
    spec = _spec_of(study)
    rows = synopsis_rows(synopsis_of(documents_of(outputs)))
    table = pd.DataFrame(rows[1:], columns=rows[0])
    blocks = [f"Study {study.get('id', '?')} (spec {study.get('sha256', '?')[:12]}): "
              + (f"{spec.title}. Matching: {_matching(spec)}; analyses: {', '.join(spec.analyses)}; "
                 f"sensitivity: {', '.join(spec.sensitivity) or 'none'}. " if spec else "")
              + f"Run {provenance.get('run_id', '?')}, code {_code(provenance)}, PMS export "
              f"{(provenance.get('pms_export') or {}).get('export_date') or 'unknown'} (appendix: provenance).",
              table]
    return Section("Synopsis", "analysis/aligned_analysis, analysis/matched_cohort", blocks)


def _spec_of(study: dict) -> StudySpec | None:
    """The recorded spec, read back from its text (the text is what was run); None without a valid one."""
    try:
        return parse_study(study.get("text") or "")
    except StudySpecError:
        return None


def _matching(spec: StudySpec) -> str:
    m = spec.matching
    return (f"{m.method} neighbour 1:{m.ratio}, "
            + ("no caliper" if m.caliper is None else f"caliper {m.caliper:g} SD of the PS"))


def _code(provenance: dict) -> str:
    code = provenance.get("code") or {}
    return f"{str(code.get('commit', '?'))[:12]}" + (" (uncommitted changes)" if code.get("dirty") else "")


def provenance_section(provenance: dict) -> Section:
    """Appendix: run id, code version, the study spec (hash and full text), the PMS export date, every input
    file's checksum, package versions, the time - and the generator's record when the data are synthetic."""
    if not provenance:
        return Section("Appendix: provenance", "analysis/provenance", ["No provenance recorded for this run."])
    facts = pd.DataFrame([
        ("run id", provenance["run_id"]), ("generated", provenance["generated_at"]), ("code", _code(provenance)),
        ("study spec", f"{provenance['study']['file']} (sha256 {provenance['study']['sha256']})"),
        ("PMS export", f"{provenance['pms_export']['export_date']} ({provenance['pms_export']['folder']})"),
        ("data", "SYNTHETIC - " + ", ".join(f"{k} {v}" for k, v in provenance["synthetic"].items())
         if provenance.get("synthetic") else "as delivered (no generator record found)"),
    ], columns=["item", "value"])
    inputs = pd.DataFrame(provenance["inputs"])
    if not inputs.empty:
        inputs = inputs[["file", "sha256", "bytes", "rows_loaded", "rows_quarantined"]]
    packages = pd.DataFrame(list(provenance["packages"].items()), columns=["package", "version"])
    return Section("Appendix: provenance", "analysis/provenance", [
        facts, "Input files as loaded (raw.load_audit): sha256 of the file as delivered.", inputs,
        "Package versions:", packages, "The study spec as run:", Preformatted(provenance["study"]["text"]),
    ])


def banner(provenance: dict) -> str | None:
    """The synthetic-data banner, when the generator's record was found beside the inputs."""
    synthetic = provenance.get("synthetic")
    if not synthetic:
        return None
    return (f"SYNTHETIC DATA - every result in this report was computed on data generated by `als-eca generate` "
            f"(seed {synthetic.get('seed', '?')}, scale {synthetic.get('scale', '?')}, true HR "
            f"{synthetic.get('true_treatment_hr', '?')}), not on patients.")


def write_study_report(outputs: Mapping[str, StepOutput], report_dir: Path, simulation: Path | None = None,
                       cuts_dir: Path | None = None) -> Path:
    """Write the report under its study and run id (`report_dir/<study>/<run id>/study_report.html`, with
    results.json and provenance.json beside it), point `report_dir/<study>/latest` at it and keep
    `report_dir/study_report.html` as the stable link to the latest run's report. With `cuts_dir`, first record
    the run's headline figures under its data cut there (als_eca.study.cuts) and show the study's cuts. Returns
    the stable link."""
    provenance = outputs["provenance"].numbers if "provenance" in outputs else {}
    provenance = {} if "not_estimable" in provenance else provenance
    study_id = (provenance.get("study") or {}).get("id", "study")
    by_cut = []
    if cuts_dir is not None:
        from als_eca.study.cuts import read_cuts, record_cut

        record_cut(cuts_dir, documents_of(outputs), provenance)
        current = (provenance.get("pms_export") or {}).get("export_date")
        by_cut = [cuts_section(read_cuts(cuts_dir, study_id), current)]
    run_dir = Path(report_dir) / study_id / (provenance.get("run_id") or "unknown-run")
    spec = _spec_of(provenance.get("study") or {})
    write_report(
        run_dir / "study_report.html",
        spec.title if spec else "Lenzumestrocel (BM-MSC) vs PRO-ACT external control - survival and safety",
        [*build_sections(outputs), *by_cut, simulation_section(simulation), provenance_section(provenance)],
        subtitle="Reproduction of Nam et al. 2023 (Front. Aging Neurosci. 15:1148444) on the configured data.",
        banner=banner(provenance), synopsis=synopsis_section(outputs, provenance),
    )
    for name, doc in (("provenance.json", provenance), *((f"{k}.json", v) for k, v in documents_of(outputs).items())):
        (run_dir / name).write_text(json.dumps(doc, indent=2, default=str) + "\n")
    _link(run_dir.parent / "latest", run_dir.name)
    _link(Path(report_dir) / "study_report.html", f"{study_id}/latest/study_report.html")
    return Path(report_dir) / "study_report.html"


def _link(link: Path, target: str) -> None:
    """(Re)point a relative symlink atomically: readers never see it missing."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    tmp.replace(link)
