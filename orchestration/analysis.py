"""Analysis assets (group `analysis`): thin wrappers that read the marts, call als_eca.study.steps (which calls
analytics/), store the results next to the warehouse and show key figures, tables and plots in the Dagster UI."""

import base64
import importlib
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from als_eca.study.store import AnalysisStore
from orchestration.markdown import md_table
from orchestration.resources import WarehouseResource

if TYPE_CHECKING:
    from als_eca.study import steps as study_steps

STEPS_MODULE = "als_eca.study.steps"  # statistics and plots: scipy, matplotlib (~2.5 s to import)


def _steps():
    """The study steps, imported on first use rather than when the code location loads (so `dagster dev` starts
    fast, and `als-eca run` can import them on the idle core while dbt runs: see `warm_up`)."""
    return importlib.import_module(STEPS_MODULE)


def warm_up() -> None:
    """Import what the analysis assets need in a background thread. The dbt step calls this: for its ~10 s the
    main process only waits on dbt's output, and dbt uses one core of two. An import in progress when an analysis
    step starts is simply waited for (Python's import lock)."""
    import threading

    threading.Thread(target=_steps, name="warm-up-analysis-imports", daemon=True).start()


COHORT = dg.AssetKey(["marts", "mart_survival_cohort"])
VISITS = dg.AssetKey(["marts", "fct_visit"])
ADVERSE_EVENTS = dg.AssetKey(["marts", "fct_adverse_event"])
PATIENTS = dg.AssetKey(["marts", "dim_patient"])


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["analysis", name])


def _store(warehouse: WarehouseResource) -> AnalysisStore:
    return AnalysisStore.next_to(warehouse.path)


def _md_table(frame: pd.DataFrame, max_rows: int = 40) -> dg.MetadataValue:
    return md_table([str(c) for c in frame.columns], frame.itertuples(index=False), max_rows=max_rows)


def _md_image(png: bytes) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")


def _persist(store: AnalysisStore, name: str, out: "study_steps.StepOutput", numbers: dict | None = None) -> dict:
    """Save a step's outputs under its asset name and build the asset's UI metadata."""
    store.save_json(name, out.numbers)
    meta: dict = {"results": dg.MetadataValue.path(str(store.path(f"{name}.json")))}
    for table, frame in out.tables.items():
        store.save_frame(table, frame)
        meta[table] = _md_table(frame)
    for figure, png in out.figures.items():
        store.save_png(figure, png)
        meta[f"{figure}_plot"] = _md_image(png)
    for label, value in (numbers or {}).items():
        meta[label] = value
    return meta


def _read(warehouse: WarehouseResource, sql: str) -> pd.DataFrame:
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql).df()


def _cohort(warehouse: WarehouseResource) -> pd.DataFrame:
    from analytics.study import COHORT_COLUMNS

    columns = ", ".join(f'"{c}"' for c in COHORT_COLUMNS)
    cohort = _read(warehouse, f"SELECT {columns} FROM marts.mart_survival_cohort ORDER BY subject_id")
    cohort["eligible"] = cohort["eligible"].astype(bool)
    return cohort


# What makes an estimate impossible on a given cohort (too few patients or events, separation, a singular design, an
# empty group): the statistics raise these; a step reports them as "not estimable" instead of failing the run.
# What makes an estimate impossible on a given cohort (too few patients or events, separation, a singular design -
# numpy's LinAlgError is a ValueError - or an empty group): a step reports it as "not estimable" instead of failing.
NOT_ESTIMABLE_ERRORS = (ValueError, ArithmeticError)


def _upstream_reason(store: AnalysisStore, upstream: tuple[str, ...]) -> str | None:
    return next((f"{name} not estimable ({why})" for name in upstream if (why := store.not_estimable(name))), None)


def _guarded(warehouse: WarehouseResource, name: str, upstream: tuple[str, ...], body,
             context: str | None = None) -> dg.MaterializeResult:
    """Run a step's body; when its input cannot support an estimate, record `{"not_estimable": reason}` under
    the step's name (and in results.json for the matched analysis), show it in the UI and let the run go on. The
    `estimable` check of the asset turns it into a warning."""
    store = _store(warehouse)
    reason = _upstream_reason(store, upstream)
    if reason is None:
        try:
            return body(store)
        except NOT_ESTIMABLE_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}".strip() + (f" (on {context})" if context else "")
    store.save_json(name, {"not_estimable": reason})
    if name == "matched_cohort":
        store.save_json("results", {"not_estimable": reason})
    return dg.MaterializeResult(metadata={"estimable": False, "not_estimable": reason})


def _estimable_check(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=_key(name), name="estimable",
                    description="The step could make its estimate on this cohort (else the reason is recorded: too "
                                "few patients or events, separation, a singular design, an empty group).")
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        reason = _store(warehouse).not_estimable(name)
        return dg.AssetCheckResult(passed=reason is None, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"not_estimable": reason or "estimable"})

    return _check


@dg.asset(key=_key("cohort_flow"), deps=[COHORT], group_name="analysis", kinds={"python"},
          description="Figure 1 - patients per source, each exclusion in the paper's order, eligible.")
def cohort_flow(warehouse: WarehouseResource) -> dg.MaterializeResult:
    out = _steps().cohort_flow(_cohort(warehouse))
    eligible = out.numbers["eligible"]
    return dg.MaterializeResult(metadata=_persist(_store(warehouse), "cohort_flow", out, {
        "eligible_pms": int(eligible.get("PMS", 0)), "eligible_proact": int(eligible.get("PRO-ACT", 0))}))


@dg.asset(key=_key("propensity_scores"), deps=[COHORT, _key("cohort_flow")], group_name="analysis",
          kinds={"python"},
          description="Propensity score: logistic regression (as R glm, unpenalised) of treatment on age, sex, onset "
                      "site, baseline ALSFRS-R, riluzole and disease duration, over the eligible cohort.")
def propensity_scores(warehouse: WarehouseResource) -> dg.MaterializeResult:
    cohort = _cohort(warehouse)
    _store(warehouse).save_frame("cohort", cohort)

    eligible = cohort[cohort["eligible"]]

    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().propensity(eligible)
        return dg.MaterializeResult(metadata=_persist(store, "propensity_scores", out, {"n": out.numbers["n"]}))

    n_treated = int(eligible["treated"].sum())
    return _guarded(warehouse, "propensity_scores", (), body,
                    context=f"{n_treated} treated and {len(eligible) - n_treated} controls")


@dg.asset(key=_key("matched_cohort"), deps=[_key("propensity_scores")], group_name="analysis", kinds={"python"},
          description="1:1 greedy nearest-neighbour matching on the score in MatchIt's order, and the outcome "
                      "analysis of the matched set; writes results.json exactly as `als-eca analyze`.")
def matched_cohort(warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _guarded(warehouse, "matched_cohort", ("propensity_scores",), _matched_cohort)


def _matched_cohort(store: AnalysisStore) -> dg.MaterializeResult:
    cohort = store.load_frame("cohort")
    result, out = _steps().matched_analysis(cohort[cohort["eligible"]])
    store.save_pickle("study_result", result)
    store.save_json("results", out.numbers)  # the `als-eca analyze` results.json contract
    meta = _persist(store, "matched_cohort", _steps().StepOutput(out.numbers, {
        "matched_pairs": result.matching.pairs, "matched_scores": out.tables["matched_scores"]}), {
        "n_treated": out.numbers["n"]["treated"], "n_control": out.numbers["n"]["control"],
        "pairs": len(result.matching.pairs)})
    store.save_frame("matched_cohort", out.tables["matched_cohort"])
    return dg.MaterializeResult(metadata=meta)


@dg.asset_check(asset=_key("matched_cohort"), name="matched_on_the_published_scores", blocking=True,
                description="The matching used exactly the scores of the propensity_scores asset.")
def matched_on_the_published_scores(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    store = _store(warehouse)
    if store.not_estimable("matched_cohort"):
        return dg.AssetCheckResult(passed=True, metadata={"note": "no matching: not estimable"})
    published = store.load_frame("propensity_scores").set_index("subject_id")["ps"]
    used = store.load_frame("matched_scores").set_index("subject_id")["ps"].reindex(published.index)
    gap = float((published - used).abs().max())
    return dg.AssetCheckResult(passed=bool(gap < 1e-12), metadata={"max_abs_difference": gap})


@dg.asset(key=_key("balance"), deps=[_key("matched_cohort")], group_name="analysis", kinds={"python"},
          description="Balance: SMDs before/after (MatchIt's definition), Table 1 with t and chi-square tests, "
                      "love plot and propensity-score overlap.")
def balance(warehouse: WarehouseResource) -> dg.MaterializeResult:
    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().balance(store.load_pickle("study_result"), store.load_frame("cohort"))
        return dg.MaterializeResult(metadata=_persist(store, "balance", out, {
            "max_abs_smd_after": out.numbers["max_abs_smd_after"]}))

    return _guarded(warehouse, "balance", ("matched_cohort",), body)


@dg.asset_check(asset=_key("balance"), name="smd_below_0_1", description="After matching every standardised "
                "mean difference is below 0.1 (the paper's balance criterion).")
def smd_below_0_1(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    store = _store(warehouse)
    if store.not_estimable("balance"):
        return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"note": "no matched set: see the estimable check"})
    smd = store.load_frame("smd")
    bad = smd[smd["smd_after"].abs() >= 0.1]
    return dg.AssetCheckResult(passed=bad.empty, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"covariates_over_0_1": _md_table(bad) if not bad.empty else "none"})


@dg.asset(key=_key("survival"), deps=[_key("matched_cohort")], group_name="analysis", kinds={"python"},
          description="Kaplan-Meier (log CI) by arm and injection group, medians, 1-3 year survival, log-rank, "
                      "RMST at tau.")
def survival(warehouse: WarehouseResource) -> dg.MaterializeResult:
    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().survival(store.load_pickle("study_result"))
        return dg.MaterializeResult(metadata=_persist(store, "survival", out, {
            "logrank_p": out.numbers["logrank"]["p"], "rmst_difference_days": out.numbers["rmst_difference_days"]}))

    return _guarded(warehouse, "survival", ("matched_cohort",), body)


@dg.asset(key=_key("cox_model"), deps=[_key("matched_cohort")], group_name="analysis", kinds={"python"},
          description="Cox PH (Efron): injection group vs control, sex, onset site, riluzole, ALSFRS-R >= 31, "
                      "age >= 54; model-based and pair-clustered SE; Schoenfeld-residual PH test; forest plot.")
def cox_model(warehouse: WarehouseResource) -> dg.MaterializeResult:
    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().cox(store.load_pickle("study_result"))
        if not out.numbers["estimable"]:
            out.numbers["not_estimable"] = "the Cox model cannot be fitted on this matched set"
        return dg.MaterializeResult(metadata=_persist(store, "cox_model", out, {
            "estimable": out.numbers["estimable"], "hr_single": out.numbers["hr"].get("group_single"),
            "ph_global_p": out.numbers["ph_global_p"]}))

    return _guarded(warehouse, "cox_model", ("matched_cohort",), body)


@dg.asset(key=_key("progression"), deps=[_key("matched_cohort"), VISITS], group_name="analysis",
          kinds={"python"},
          description="Initial progression speed, ALSFRS-R change to 12 months, Korean vs non-Korean subgroup.")
def progression(warehouse: WarehouseResource) -> dg.MaterializeResult:
    visits = _read(warehouse, "SELECT subject_id, visit_day, alsfrs_r_total FROM marts.fct_visit "
                              "WHERE instrument = 'ALSFRS-R' AND alsfrs_r_total IS NOT NULL")

    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().progression(store.load_pickle("study_result"), visits)
        return dg.MaterializeResult(metadata=_persist(store, "progression", out, {"speed_p": out.numbers["speed_p"]}))

    return _guarded(warehouse, "progression", ("matched_cohort",), body)


@dg.asset(key=_key("sensitivity"), deps=[_key("matched_cohort")], group_name="analysis", kinds={"python"},
          description="Sensitivity analyses: progression speed added to the PS model; patients within the speed IQR.")
def sensitivity(warehouse: WarehouseResource) -> dg.MaterializeResult:
    def body(store: AnalysisStore) -> dg.MaterializeResult:
        cohort = store.load_frame("cohort")
        out = _steps().sensitivity(cohort[cohort["eligible"]])
        return dg.MaterializeResult(metadata=_persist(store, "sensitivity", out))

    return _guarded(warehouse, "sensitivity", ("matched_cohort",), body)


@dg.asset(key=_key("safety_tables"), deps=[ADVERSE_EVENTS, PATIENTS], group_name="analysis", kinds={"python"},
          description="Safety over the first year after the first injection: overview, AE (>= 5 %), ADR, SAE "
                      "(>= 1 %) tables by SOC (internationally agreed order) then PT, 'n (%) [events]'.")
def safety_tables(warehouse: WarehouseResource) -> dg.MaterializeResult:
    ae = _read(warehouse, "SELECT * FROM marts.fct_adverse_event WHERE source = 'PMS'")
    n_safety = int(_read(warehouse, "SELECT count(*) AS n FROM marts.dim_patient WHERE source = 'PMS'")["n"][0])

    def body(store: AnalysisStore) -> dg.MaterializeResult:
        out = _steps().safety(ae, n_safety)
        return dg.MaterializeResult(metadata=_persist(store, "safety_tables", out, {"n_safety": n_safety}))

    return _guarded(warehouse, "safety_tables", (), body)


@dg.asset(key=_key("study_report"),
          deps=[_key(n) for n in ("cohort_flow", "propensity_scores", "matched_cohort", "balance", "survival", "cox_model", "progression",
                                  "sensitivity", "safety_tables")],
          group_name="analysis", kinds={"html"},
          description="The study report: one self-contained HTML file mirroring the paper.")
def study_report(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from als_eca.study.report import write_study_report

    path = write_study_report(_store(warehouse), warehouse.directory / "report" / "study_report.html")
    return dg.MaterializeResult(metadata={"report": dg.MetadataValue.path(str(path)),
                                          "size_kib": round(path.stat().st_size / 1024, 1)})


analysis_assets = [cohort_flow, propensity_scores, matched_cohort, balance, survival, cox_model, progression, sensitivity, safety_tables,
                   study_report]
ESTIMATED_STEPS = ("propensity_scores", "matched_cohort", "balance", "survival", "cox_model", "progression",
                   "sensitivity", "safety_tables")
analysis_checks = [smd_below_0_1, matched_on_the_published_scores, *(_estimable_check(n) for n in ESTIMATED_STEPS)]
