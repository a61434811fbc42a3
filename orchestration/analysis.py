"""Analysis assets (group `analysis`): thin wrappers that read the marts, call als_eca.study.steps (which calls
analytics/) and show key figures, tables and plots in the Dagster UI. Each returns its step's output; the analysis
IO manager (orchestration/analysis_io.py) stores it next to the warehouse and hands it to the assets after it as
an input."""

import base64
import importlib
from collections.abc import Callable

import dagster as dg
import pandas as pd

from als_eca.study.store import StepOutput
from als_eca.study.synopsis import hr_text
from orchestration.analysis_io import ANALYSIS_IO_MANAGER
from orchestration.markdown import md_table
from orchestration.resources import SourcesResource, StudyResource, WarehouseResource

STEPS_MODULE = "als_eca.study.steps"  # statistics and plots: scipy, matplotlib (~2.5 s to import)


def _steps():
    """The study steps, imported on first use rather than when the code location loads (so `dagster dev` starts
    fast). Not imported ahead on a second thread during the dbt step: dbt runs in this process
    (orchestration/dbt_runner.py), so that import would take the same interpreter lock (measured: no faster)."""
    return importlib.import_module(STEPS_MODULE)


COHORT = dg.AssetKey(["marts", "mart_survival_cohort"])
VISITS = dg.AssetKey(["marts", "fct_visit"])
ADVERSE_EVENTS = dg.AssetKey(["marts", "fct_adverse_event"])
PATIENTS = dg.AssetKey(["marts", "dim_patient"])


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["analysis", name])


def _ins(*names: str) -> dict[str, dg.AssetIn]:
    return {name: dg.AssetIn(key=_key(name)) for name in names}


def _md_table(frame: pd.DataFrame, max_rows: int = 40) -> dg.MetadataValue:
    return md_table([str(c) for c in frame.columns], frame.itertuples(index=False), max_rows=max_rows)


def _md_image(png: bytes) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")


# Every patient's row: kept in the store for the steps after it and for analysts, too long for the UI.
_NOT_SHOWN = ("cohort", "matched_cohort")


def _output(out: StepOutput, key_numbers: Callable[[dict], dict] | None = None) -> dg.Output:
    """The asset's output with its UI metadata: tables and figures, and key numbers - or why it made no estimate
    (the asset's `estimable` check turns that into a warning)."""
    meta: dict = {}  # key numbers first: the asset page lists metadata in this order
    if out.not_estimable:
        meta.update({"estimable": False, "not_estimable": out.not_estimable})
    elif key_numbers is not None:
        meta.update(key_numbers(out.numbers))
    meta.update({table: _md_table(frame) for table, frame in out.tables.items() if table not in _NOT_SHOWN})
    meta.update({f"{figure}_plot": _md_image(png) for figure, png in out.figures.items()})
    return dg.Output(out, metadata=meta)


def _read(warehouse: WarehouseResource, sql: str) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql).df()


def _cohort(warehouse: WarehouseResource) -> pd.DataFrame:
    from analytics.study import COHORT_COLUMNS

    columns = ", ".join(f'"{c}"' for c in COHORT_COLUMNS)
    cohort = _read(warehouse, f"SELECT {columns} FROM marts.mart_survival_cohort ORDER BY subject_id")
    cohort["eligible"] = cohort["eligible"].astype(bool)
    return cohort


def _eligible(cohort_flow: StepOutput) -> pd.DataFrame:
    cohort = cohort_flow.tables["cohort"]
    return cohort[cohort["eligible"]]


def _nothing_to_check(note: str = "not estimable: see the estimable check") -> dg.AssetCheckResult:
    """A WARN check on a step that made no estimate: passed, saying why (its `estimable` check warns instead)."""
    return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN, metadata={"note": note})


def _not_in_study(spec) -> StepOutput:
    """The output of an analysis the study spec does not list (its steps say so; the report says "Not run")."""
    return StepOutput.not_requested(f"analyses: {list(spec.analyses)}")


def _on_matched_set(step: str, matched_cohort: StepOutput, *args) -> StepOutput:
    """Study step `step` on the matched analysis (and `args`), or why not when the matching was not estimable."""
    return _steps().guarded(lambda: getattr(_steps(), step)(matched_cohort.objects["study_result"], *args),
                            needs={"matched_cohort": matched_cohort})


def _estimable_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=_key(name), name="estimable",
                    description="The step could make its estimate on this cohort (else the reason is recorded: too "
                                "few patients or events, separation, a singular design, an empty group). A step "
                                "the study spec does not ask for passes, saying so.")
    def _check(step_output: StepOutput) -> dg.AssetCheckResult:
        reason = step_output.not_estimable
        return dg.AssetCheckResult(passed=reason is None or not step_output.requested,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"not_estimable": reason or "estimable"})

    return _check


# What every step asset shares: its group, and its output kept by the analysis IO manager.
_STEP_ASSET = {"group_name": "analysis", "kinds": {"python"}, "io_manager_key": ANALYSIS_IO_MANAGER}


@dg.asset(key=_key("provenance"), deps=[COHORT], **_STEP_ASSET,
          description="Which data, code and study spec this run's results come from: run id, git commit (dirty "
                      "flag), the study spec's hash and text, the PMS export date, every loaded file's sha256, "
                      "package versions, the time; and whether the inputs were generated (synthetic).")
def provenance(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource,
               study: StudyResource) -> dg.Output:
    from pathlib import Path

    from als_eca.provenance import collect

    with warehouse.connect(read_only=True) as con:
        record = collect(con, context.run.run_id, study.load().provenance(), Path(sources.proact_dir),
                         Path(sources.pms_dir))
    return dg.Output(StepOutput(record, documents={"provenance": record}), metadata={
        "run_id": record["run_id"], "commit": record["code"]["commit"][:12] + (" (dirty)" if record["code"]["dirty"]
                                                                              else ""),
        "study": f"{record['study']['id']} ({record['study']['sha256'][:12]})",
        "pms_export_date": str(record["pms_export"]["export_date"]), "input_files": len(record["inputs"]),
        "synthetic": record["synthetic"] is not None})


@dg.asset(key=_key("cohort_flow"), deps=[COHORT], **_STEP_ASSET,
          description="Figure 1 - patients per source, each exclusion in the paper's order, eligible; with the "
                      "analysis cohort itself (cohort.parquet), which the steps after it analyse.")
def cohort_flow(warehouse: WarehouseResource) -> dg.Output:
    return _output(_steps().cohort_flow(_cohort(warehouse)), lambda numbers: {
        "eligible_pms": int(numbers["eligible"].get("PMS", 0)),
        "eligible_proact": int(numbers["eligible"].get("PRO-ACT", 0))})


@dg.asset(key=_key("aligned_analysis"), ins=_ins("cohort_flow", "provenance"), **_STEP_ASSET,
          description="The aligned analysis (target-trial emulation, docs/study_design.md): time zero at a landmark "
                      "known in both arms (the second post-index ALSFRS-R), the paper's conditions for both arms, "
                      "deaths counted within each patient's observation window, one progression-speed definition; "
                      "its cohort flow, matched analysis, estimands and diagnostics with their verdicts.")
def aligned_analysis(cohort_flow: StepOutput, provenance: StepOutput, study: StudyResource) -> dg.Output:
    spec = study.load().spec
    if "aligned" not in spec.analyses:
        return _output(_not_in_study(spec))
    out = _steps().guarded(lambda: _steps().named_analysis(cohort_flow.tables["cohort"], "aligned",
                                                           provenance.numbers, **spec.analysis_options()))

    def key_numbers(numbers: dict) -> dict:
        hr = numbers["cox"]["terms"]["group_single"]
        failed = [d["name"] for d in numbers["diagnostics"] if d["passed"] is False]
        return {"pairs": len(numbers["matching"]["pairs"]), "hr_single": hr["hr"],
                "hr_single_cycle": hr_text(hr), "logrank_p": numbers["logrank"]["p"],
                "diagnostics_failed": ", ".join(failed) or "none"}

    return _output(out, key_numbers)


@dg.asset(key=_key("falsification"), ins=_ins("cohort_flow"), **_STEP_ASSET,
          description="Known-null falsification: the study's matched analysis of PRO-ACT active arms vs placebo (the "
                      "trials found no survival benefit) and of a random placebo half vs the other half, under the "
                      "replication's and the aligned rules; each HR should cover 1.")
def falsification(cohort_flow: StepOutput, study: StudyResource) -> dg.Output:
    spec = study.load().spec
    out = _steps().guarded(lambda: _steps().falsification(cohort_flow.tables["cohort"], spec.analyses,
                                                          **spec.analysis_options()))
    return _output(out)


@dg.asset_check(asset=_key("falsification"), name="null_recovered",
                description="Every known-null comparison's 95 % CI covers HR 1; one that does not shows a bias of the "
                            "design (or of the data) that the treatment comparison shares.")
def null_recovered(falsification: StepOutput) -> dg.AssetCheckResult:
    if falsification.not_estimable:
        return _nothing_to_check()
    table = falsification.tables["falsification"]
    missed = table[table["covers_null"] == False]  # noqa: E712 (None: not estimable, not a miss)
    return dg.AssetCheckResult(passed=missed.empty, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"falsifications": _md_table(table.drop(columns=["label"]))})


@dg.asset(key=_key("propensity_scores"), ins=_ins("cohort_flow"), **_STEP_ASSET,
          description="Propensity score: logistic regression (as R glm, unpenalised) of treatment on age, sex, onset "
                      "site, baseline ALSFRS-R, riluzole and disease duration, over the eligible cohort.")
def propensity_scores(cohort_flow: StepOutput, study: StudyResource) -> dg.Output:
    spec = study.load().spec
    if "replication" not in spec.analyses:
        return _output(_not_in_study(spec))
    eligible = _eligible(cohort_flow)
    n_treated = int(eligible["treated"].sum())
    out = _steps().guarded(lambda: _steps().propensity(eligible, spec.analysis_options()["ps_covariates"]),
                           context=f"{n_treated} treated and {len(eligible) - n_treated} controls")
    return _output(out, lambda numbers: {"n": numbers["n"]})


@dg.asset(key=_key("matched_cohort"), ins=_ins("cohort_flow", "propensity_scores", "provenance"), **_STEP_ASSET,
          description="1:1 greedy nearest-neighbour matching on the score in MatchIt's order, and the outcome "
                      "analysis of the matched set; writes results.json exactly as `als-eca analyze`.")
def matched_cohort(cohort_flow: StepOutput, propensity_scores: StepOutput, provenance: StepOutput,
                   study: StudyResource) -> dg.Output:
    options = study.load().spec.analysis_options()
    out = _steps().guarded(lambda: _steps().matched_analysis(_eligible(cohort_flow), provenance.numbers, **options),
                           needs={"propensity_scores": propensity_scores})
    if out.not_estimable:  # results.json, the `als-eca analyze` contract, then says why there are no results
        out.documents["results"] = out.numbers
    return _output(out, lambda numbers: {"n_treated": numbers["n"]["treated"], "n_control": numbers["n"]["control"],
                                         "pairs": len(numbers["matching"]["pairs"]),
                                         "hr_single_cycle": hr_text(numbers["cox"]["terms"].get("group_single")),
                                         "hr_multiple": hr_text(numbers["cox"]["terms"].get("group_multiple")),
                                         "logrank_p": numbers["logrank"]["p"]})


@dg.asset_check(asset=_key("matched_cohort"), name="matched_on_the_published_scores", blocking=True,
                additional_ins=_ins("propensity_scores"),
                description="The matching used exactly the scores of the propensity_scores asset.")
def matched_on_the_published_scores(matched_cohort: StepOutput,
                                    propensity_scores: StepOutput) -> dg.AssetCheckResult:
    if matched_cohort.not_estimable:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no matching: not estimable"})
    published = propensity_scores.tables["propensity_scores"].set_index("subject_id")["ps"]
    used = matched_cohort.tables["matched_scores"].set_index("subject_id")["ps"].reindex(published.index)
    gap = float((published - used).abs().max())
    return dg.AssetCheckResult(passed=bool(gap < 1e-12), metadata={"max_abs_difference": gap})


@dg.asset(key=_key("balance"), ins=_ins("matched_cohort", "cohort_flow"), **_STEP_ASSET,
          description="Balance: SMDs before/after (MatchIt's definition), Table 1 with t and chi-square tests, "
                      "love plot and propensity-score overlap.")
def balance(matched_cohort: StepOutput, cohort_flow: StepOutput) -> dg.Output:
    out = _on_matched_set("balance", matched_cohort, cohort_flow.tables["cohort"])
    return _output(out, lambda numbers: {"max_abs_smd_after": numbers["max_abs_smd_after"]})


@dg.asset_check(asset=_key("balance"), name="smd_below_0_1", description="After matching every standardised "
                "mean difference is below 0.1 (the paper's balance criterion).")
def smd_below_0_1(balance: StepOutput) -> dg.AssetCheckResult:
    if balance.not_estimable:
        return _nothing_to_check("no matched set: see the estimable check")
    smd = balance.tables["smd"]
    bad = smd[smd["smd_after"].abs() >= 0.1]
    return dg.AssetCheckResult(passed=bad.empty, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"covariates_over_0_1": _md_table(bad) if not bad.empty else "none"})


@dg.asset(key=_key("survival"), ins=_ins("matched_cohort"), **_STEP_ASSET,
          description="Kaplan-Meier (log CI) by arm and injection group, medians, 1-3 year survival, log-rank, "
                      "RMST at tau.")
def survival(matched_cohort: StepOutput) -> dg.Output:
    out = _on_matched_set("survival", matched_cohort)
    return _output(out, lambda numbers: {"logrank_p": numbers["logrank"]["p"],
                                         "rmst_difference_days": numbers["rmst_difference_days"]})


@dg.asset(key=_key("cox_model"), ins=_ins("matched_cohort"), **_STEP_ASSET,
          description="Cox PH (Efron): injection group vs control, sex, onset site, riluzole, ALSFRS-R >= 31, "
                      "age >= 54; model-based and pair-clustered SE; Schoenfeld-residual PH test; forest plot.")
def cox_model(matched_cohort: StepOutput) -> dg.Output:
    out = _on_matched_set("cox", matched_cohort)
    return _output(out, lambda numbers: {"estimable": numbers["estimable"], "ph_global_p": numbers["ph_global_p"],
                                         "hr_single": numbers["hr"].get("group_single")})


@dg.asset(key=_key("progression"), ins=_ins("matched_cohort"), deps=[VISITS], **_STEP_ASSET,
          description="Initial progression speed, ALSFRS-R change to 12 months, CAFS (survival first, then the "
                      "ALSFRS-R change; Finkelstein-Schoenfeld test), Korean vs non-Korean subgroup.")
def progression(warehouse: WarehouseResource, matched_cohort: StepOutput) -> dg.Output:
    visits = _read(warehouse, "SELECT subject_id, visit_day, alsfrs_r_total FROM marts.fct_visit "
                              "WHERE instrument = 'ALSFRS-R' AND alsfrs_r_total IS NOT NULL")
    out = _on_matched_set("progression", matched_cohort, visits)
    return _output(out, lambda numbers: {"speed_p": numbers["speed_p"], "cafs_fs_p": numbers["cafs"]["fs_p"]})


@dg.asset(key=_key("sensitivity"), ins=_ins("matched_cohort", "cohort_flow"), **_STEP_ASSET,
          description="Sensitivity analyses: progression speed added to the PS model; patients within the speed IQR; "
                      "control deaths counted only within the ALSFRS follow-up.")
def sensitivity(matched_cohort: StepOutput, cohort_flow: StepOutput, study: StudyResource) -> dg.Output:
    spec = study.load().spec
    if not spec.sensitivity or "replication" not in spec.analyses:
        return _output(StepOutput.not_requested(f"sensitivity: {list(spec.sensitivity)}, analyses: "
                                                f"{list(spec.analyses)}"))
    out = _steps().guarded(lambda: _steps().sensitivity(_eligible(cohort_flow), spec.sensitivity,
                                                        **spec.analysis_options()),
                           needs={"matched_cohort": matched_cohort})
    return _output(out)


@dg.asset(key=_key("safety_tables"), deps=[ADVERSE_EVENTS, PATIENTS], **_STEP_ASSET,
          description="Safety over the study's window after the first injection (one year in the paper): overview, AE (>= 5 %), "
                      "ADR, SAE (>= 1 %) tables by SOC (internationally agreed order) then PT, 'n (%)' and events, "
                      "rates per 100 patient-years; time to the first AE and SAE (Kaplan-Meier).")
def safety_tables(warehouse: WarehouseResource, study: StudyResource) -> dg.Output:
    safety = study.load().spec.safety
    ae = _read(warehouse, "SELECT * FROM marts.fct_adverse_event WHERE source = 'PMS'")
    # The safety population is every PMS patient of dim_patient; its last_followup_day (days from the first
    # injection) is the day of death, else the latest of last contact, last ALSFRS-R, last AE onset and last
    # injection - the whole observation of the patient. (mart_survival_cohort's time_days is the survival
    # analysis' censoring, defined only for its own rules; the exposure to AEs is the time the patient was seen.)
    patients = _read(warehouse, "SELECT subject_id, last_followup_day AS followup_end_day, death_day "
                                "FROM marts.dim_patient WHERE source = 'PMS'")
    out = _steps().guarded(lambda: _steps().safety(ae, len(patients), patients, meddra_version=safety.meddra_version,
                                                   min_pct=safety.min_pct, window_days=safety.window_days))
    return _output(out, lambda numbers: {"n_safety": numbers["n_safety"],
                                         "patient_years": round(numbers["patient_years"], 1)})


STUDY_STEPS = ("provenance", "cohort_flow", "aligned_analysis", "falsification", "propensity_scores", "matched_cohort", "balance",
               "survival", "cox_model", "progression", "sensitivity", "safety_tables")


@dg.asset(key=_key("study_report"), ins=_ins(*STUDY_STEPS), group_name="analysis", kinds={"html"},
          description="The study report: one self-contained HTML file mirroring the paper; records the run's "
                      "headline figures under its PMS data cut (cuts/<study id>/<export date>.json) and shows the "
                      "study's cuts side by side.")
def study_report(warehouse: WarehouseResource, **outputs: StepOutput) -> dg.MaterializeResult:
    from als_eca.study.cuts import CUTS_DIR
    from als_eca.study.report import write_study_report
    from als_eca.study.synopsis import documents_of, synopsis_of, synopsis_rows

    path = write_study_report(outputs, warehouse.directory / "report",
                              simulation=warehouse.directory / "simulation" / "summary.json",
                              cuts_dir=warehouse.directory / CUTS_DIR)
    rows = synopsis_rows(synopsis_of(documents_of(outputs)))
    return dg.MaterializeResult(metadata={"synopsis": md_table(list(rows[0]), rows[1:]),
                                          "report": dg.MetadataValue.path(str(path.resolve())),
                                          "size_kib": round(path.stat().st_size / 1024, 1)})


analysis_assets = [provenance, cohort_flow, aligned_analysis, falsification, propensity_scores, matched_cohort, balance, survival,
                   cox_model, progression, sensitivity, safety_tables, study_report]
ESTIMATED_STEPS = tuple(s for s in STUDY_STEPS if s not in ("provenance", "cohort_flow"))  # (they estimate nothing)


def _design_check(name: str, table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=_key(name), name="design_diagnostics_pass",
                    description="Every design diagnostic of the matched analysis passes its threshold (balance, "
                                "equipoise, power, follow-up parity, RMST horizon, short matched sets, "
                                "generalisability, proportional hazards); a failure is a warning with its finding.")
    def _check(step_output: StepOutput) -> dg.AssetCheckResult:
        if step_output.not_estimable:
            return _nothing_to_check()
        diagnostics = step_output.tables[table]
        failed = diagnostics[diagnostics["verdict"] == "FAIL"]
        return dg.AssetCheckResult(passed=failed.empty, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"diagnostics": _md_table(diagnostics), "failed": len(failed)})

    return _check


analysis_checks = [smd_below_0_1, matched_on_the_published_scores, null_recovered,
                   *(_estimable_check(n) for n in ESTIMATED_STEPS),
                   _design_check("matched_cohort", "diagnostics"), _design_check("aligned_analysis", "aligned_diagnostics")]
