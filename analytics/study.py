"""End-to-end matched analysis of Nam et al. 2023 (PS -> 1:1 NN matching -> KM / log-rank / RMST / Cox).

Used by the CLI and the Dagster analysis assets; ``StudyResult.to_json_dict()`` is the ``results.json``
contract (its keys are documented in docs/architecture.md). Survival analyses are unweighted on the matched set,
which equals MatchIt's weighted analysis for 1:1 matching and for k:1 matching where every treated unit got k
controls. Times are days.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from analytics.balance import smd_table
from analytics.cox import CoxResult, cox_zph, fit_cox
from analytics.diagnostics import (
    Diagnostic,
    equipoise,
    followup_parity,
    generalisability,
    max_abs_smd,
    minimum_detectable_hr,
    proportional_hazards,
    rmst_horizon,
    short_matched_sets,
)
from analytics.estimands import e_value, rmst_contrast, survival_difference
from analytics.matching import MatchResult, match_on_score
from analytics.progression import iqr_mask
from analytics.propensity import PS_COVARIATES, LogisticFit, design_covariates, propensity_score
from analytics.survival import KaplanMeier, LogRank, kaplan_meier, logrank_test

#: The analysis input contract, the columns of ``mart_survival_cohort`` the study reads (tests/dbt checks each
#: against the dbt model's documented columns): required by every analysis ...
REQUIRED_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "treated",
    "group",
    "time_days",
    "event",
    "age",
    "sex",
    "onset_site",
    "alsfrs_r_baseline",
    "riluzole",
    "disease_duration_months",
)
#: ... and read only where present: the cohort flow (source, eligible, exclusion_reason), the sensitivity analyses
#: (progression_speed, the within-follow-up outcome), the Korean subgroup, the aligned analysis, the known-null
#: falsification; tpv_* is kept in the analysis cohort for analysts (the paper's steps do not analyse it).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "source", "progression_speed", "korean", "eligible", "tpv_time_days", "tpv_event", "time_days_within_followup",
    "event_within_followup", "exclusion_reason", "aligned_eligible", "aligned_exclusion_reason", "landmark_day",
    "aligned_time_days", "aligned_event", "aligned_progression_speed", "active_arm_eligible",
    "aligned_active_arm_eligible",
)
#: In the order the analysis assets select them.
COHORT_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
#: The sensitivity outcome: deaths counted only within the ALSFRS follow-up (instead of time_days, event).
WITHIN_FOLLOWUP_COLUMNS: tuple[str, str] = ("time_days_within_followup", "event_within_followup")
#: The named analyses, one code path (docs/study_design.md): the cohort columns each reads as its eligibility,
#: outcome, progression speed and cohort flow. `replication` is the paper's rules as published; `aligned` the
#: target-trial emulation - time zero at a landmark known in both arms (the second post-index ALSFRS-R), the
#: paper's conditions applied to both arms, deaths counted only within each patient's observation window, one
#: progression-speed definition.
ANALYSES: dict[str, dict[str, str]] = {
    "replication": {},
    "aligned": {"eligible": "aligned_eligible", "time_days": "aligned_time_days", "event": "aligned_event",
                "progression_speed": "aligned_progression_speed", "exclusion_reason": "aligned_exclusion_reason",
                "active_arm_eligible": "aligned_active_arm_eligible"},
}


def analysis_cohort(cohort: pd.DataFrame, analysis: str = "replication") -> pd.DataFrame:
    """The cohort as analysis ``analysis`` reads it: its own eligibility, outcome, speed and exclusion columns
    under the standard names, so every step runs unchanged. Raises ``ValueError`` naming an unknown analysis or a
    missing column. (The aligned outcome already counts deaths within the observation window, from the landmark:
    the index-based within-follow-up columns do not apply to it and are dropped.)"""
    if analysis not in ANALYSES:
        raise ValueError(f"unknown analysis {analysis!r}: one of {', '.join(ANALYSES)}")
    mapping = ANALYSES[analysis]
    if not mapping:
        return cohort
    missing = [c for c in mapping.values() if c not in cohort.columns]
    if missing:
        raise ValueError(f"cohort has no column(s) {', '.join(missing)} for the {analysis} analysis")
    out = cohort.drop(columns=[c for c in (*mapping, *WITHIN_FOLLOWUP_COLUMNS) if c in cohort.columns])
    return out.rename(columns={v: k for k, v in mapping.items()})


#: Cox model of the paper: 3-level group (control reference), sex, onset site, riluzole, ALSFRS-R >= 31, age >= 54.
COX_TERMS: tuple[str, ...] = (
    "group_single",
    "group_multiple",
    "sex_male",
    "onset_bulbar",
    "riluzole",
    "alsfrs_r_baseline_ge31",
    "age_ge54",
)
SURVIVAL_TIMES: tuple[int, ...] = (365, 730, 1095)
#: The RMST horizon rule: tau is the last time with at least this many patients at risk in both arms (beyond it
#: the curve's tail rests on a handful of patients; analytics.diagnostics.rmst_horizon).
RMST_MIN_AT_RISK = 10
ALSFRS_CUT = 31.0
AGE_CUT = 54.0


def validate_cohort(cohort: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Check the input contract and return the analysed rows (``eligible`` true when that column exists).

    Raises ``ValueError`` naming the offending column.
    """
    missing = [c for c in (*REQUIRED_COLUMNS, *extra) if c not in cohort.columns]
    if missing:
        raise ValueError(f"cohort is missing required column(s): {', '.join(missing)}")
    df = cohort
    if "eligible" in df.columns:
        el = df["eligible"]
        if el.isna().any():
            raise ValueError("column 'eligible' has missing values")
        if el.dtype == object:
            el = el.astype(str).str.lower().map({"true": True, "false": False, "1": True, "0": False})
            if el.isna().any():
                raise ValueError("column 'eligible' must be boolean")
        df = df.loc[el.astype(bool).to_numpy()]
    df = df.reset_index(drop=True)
    if df["subject_id"].isna().any() or df["subject_id"].duplicated().any():
        raise ValueError("column 'subject_id' must be unique and non-missing")
    for col in ("treated", "event", "riluzole"):
        if df[col].isna().any() or not pd.to_numeric(df[col], errors="coerce").isin([0, 1]).all():
            raise ValueError(f"column {col!r} must be 0/1 without missing values")
    t = pd.to_numeric(df["time_days"], errors="coerce")
    if t.isna().any() or (t < 0).any():
        raise ValueError("column 'time_days' must be numeric, non-missing and >= 0")
    tr = df["treated"].astype(int)
    grp = df["group"].astype(str)
    if not grp[tr == 0].eq("control").all():
        raise ValueError("column 'group' must be 'control' for every untreated patient")
    if not grp[tr == 1].isin(["single", "multiple"]).all():
        raise ValueError("column 'group' must be 'single' or 'multiple' for every treated patient")
    if tr.sum() == 0 or (tr == 0).sum() == 0:
        raise ValueError("column 'treated' must contain both treated (1) and control (0) patients")
    design_covariates(df, extra)  # validates covariate columns
    return df


def cox_terms(alsfrs_cut: float = ALSFRS_CUT, age_cut: float = AGE_CUT) -> list[str]:
    """The Cox model's term names for the given cut points (the paper's: ``COX_TERMS``)."""
    return [*COX_TERMS[:5], f"alsfrs_r_baseline_ge{alsfrs_cut:g}", f"age_ge{age_cut:g}"]


def cox_design(matched: pd.DataFrame, alsfrs_cut: float = ALSFRS_CUT, age_cut: float = AGE_CUT) -> pd.DataFrame:
    """The paper's Cox design matrix (0/1 columns, ``cox_terms(alsfrs_cut, age_cut)``) from cohort columns: the
    injection groups (control reference), sex, onset site, riluzole, ALSFRS-R >= alsfrs_cut, age >= age_cut."""
    names = cox_terms(alsfrs_cut, age_cut)
    return pd.DataFrame(
        {
            "group_single": (matched["group"] == "single").astype(float),
            "group_multiple": (matched["group"] == "multiple").astype(float),
            "sex_male": (matched["sex"].astype(str).str.upper() == "M").astype(float),
            "onset_bulbar": (matched["onset_site"].astype(str).str.lower() == "bulbar").astype(float),
            "riluzole": matched["riluzole"].astype(float),
            names[5]: (matched["alsfrs_r_baseline"].astype(float) >= alsfrs_cut).astype(float),
            names[6]: (matched["age"].astype(float) >= age_cut).astype(float),
        },
        index=matched.index,
    )


@dataclass
class StudyResult:
    """Every intermediate object of the matched analysis; ``to_json_dict()`` gives the results.json contract."""

    n_treated: int
    n_control: int
    ps_fit: LogisticFit
    scores: pd.Series  # indexed by subject_id
    matching: MatchResult
    smd_before: pd.DataFrame
    smd_after: pd.DataFrame
    matched: pd.DataFrame  # matched rows with `pair` (subclass) column
    km: dict[str, KaplanMeier]
    logrank: LogRank
    tau: float
    rmst: dict[str, tuple[float, float]]
    cox: CoxResult | None  # None when the model is not estimable on the matched set
    cox_robust: CoxResult | None
    pairwise_single_vs_multiple: LogRank | None
    treated: pd.Series  # 0/1 of every analysed patient, indexed by subject_id in the order of `scores`
    covariates: pd.DataFrame  # the PS design of every analysed patient, in the same order
    ratio: int  # controls requested per treated patient
    cox_terms: list[str] = field(default_factory=lambda: list(COX_TERMS))
    survival_times: tuple[int, ...] = SURVIVAL_TIMES  # days at which survival and its difference are reported
    rmst_min_at_risk: int = RMST_MIN_AT_RISK  # the RMST horizon rule

    @functools.cached_property
    def ph_test(self) -> pd.DataFrame:
        """R ``cox.zph`` of the Cox model, the injection groups as one term (R's factor ``group``), each other
        coefficient its own; computed once (the cox step and the diagnostics both report it)."""
        groups = [g for g in ("group_single", "group_multiple") if g in self.cox.names]
        return cox_zph(self.cox, terms={"group": groups, **{n: [n] for n in self.cox.names if n not in groups}})

    def estimands(self) -> dict:
        """Beyond the HR (analytics.estimands): the RMST difference and ratio at tau with CIs, the survival
        difference at 1-3 years with CIs, and the E-value of each injection group's HR and of its CI bound closer
        to 1 (deaths are common in ALS: the HR is converted to a risk ratio as for a common outcome)."""
        contrast = rmst_contrast(self.km["treated"], self.km["control"], self.tau)
        difference = survival_difference(self.km["treated"], self.km["control"], self.survival_times)
        s = self.cox.summary(robust=False) if self.cox is not None else pd.DataFrame()
        evalues = {t: asdict(e_value(s.at[t, "hr"], s.at[t, "lower"], s.at[t, "upper"], rare=False))
                   for t in ("group_single", "group_multiple") if t in s.index}
        return {"rmst_contrast": asdict(contrast),
                "survival_difference": {str(int(r.time)): {"difference": r.difference, "lower": r.lower,
                                                           "upper": r.upper} for r in difference.itertuples()},
                "e_value": evalues}

    def diagnostics(self) -> list[Diagnostic]:
        """Every design diagnostic with its threshold and verdict (analytics.diagnostics; CohortMethod's defaults
        as anchors): balance, equipoise, power, follow-up parity, the RMST horizon, short matched sets,
        generalisability, proportional hazards."""
        m = self.matched
        t, e = m["time_days"].to_numpy(float), m["event"].to_numpy(int)
        tr = m["treated"].to_numpy(int)
        ids, treated_all = self.scores.index, self.treated.to_numpy(int)
        out = [max_abs_smd(self.smd_after),
               equipoise(self.scores.to_numpy(), treated_all),
               minimum_detectable_hr(int(e.sum()), float(tr.mean())),
               followup_parity(t, e, tr)]
        horizon = rmst_horizon(t, tr, min_at_risk=self.rmst_min_at_risk)
        out.append(replace(horizon, passed=bool(self.tau <= horizon.value) if horizon.passed is not False else False,
                           detail=f"{horizon.detail}; tau used {self.tau:g} days",
                           values={**horizon.values, "tau": self.tau}))
        out.append(short_matched_sets(self.matching.pairs, self.ratio, treated_ids=ids[treated_all == 1]))
        out.append(generalisability(self.covariates, treated_all, ids.isin(m["subject_id"])))
        if self.cox is not None:
            out.extend(proportional_hazards(self.ph_test))
        return out

    def to_json_dict(self) -> dict:
        """The results.json contract; NaN/inf become ``None``, numpy scalars plain Python."""

        def km_block(k: KaplanMeier) -> dict:
            med, lo, hi = k.median()
            at = k.survival_at(self.survival_times)
            return {
                "n": k.n,
                "events": k.events,
                "median": med,
                "median_lower": lo,
                "median_upper": hi,
                "surv": {str(int(t)): s for t, s in zip(at["time"], at["surv"], strict=True)},
            }

        def cox_block(fit: CoxResult | None, robust: bool) -> dict:
            s = fit.summary(robust=robust) if fit is not None else pd.DataFrame()
            return {
                "terms": {
                    t: (
                        {
                            "hr": s.at[t, "hr"],
                            "lower": s.at[t, "lower"],
                            "upper": s.at[t, "upper"],
                            "p": s.at[t, "p"],
                        }
                        if t in s.index
                        else {"hr": None, "lower": None, "upper": None, "p": None}
                    )
                    for t in self.cox_terms
                }
            }

        pw = self.pairwise_single_vs_multiple
        out = {
            "n": {"treated": self.n_treated, "control": self.n_control},
            "propensity": {"coef": dict(self.ps_fit.coef)},
            "matching": {
                "pairs": self.matching.pairs[["treated_id", "control_id"]].values.tolist(),
                "smd": {"before": dict(self.smd_before["smd"]), "after": dict(self.smd_after["smd"])},
            },
            "km": {"treated": km_block(self.km["treated"]), "control": km_block(self.km["control"])},
            "logrank": {"chisq": self.logrank.chisq, "p": self.logrank.p},
            "rmst": {
                "tau": self.tau,
                "treated": {"estimate": self.rmst["treated"][0], "se": self.rmst["treated"][1]},
                "control": {"estimate": self.rmst["control"][0], "se": self.rmst["control"][1]},
            },
            "cox": cox_block(self.cox, robust=False),
            "cox_robust": cox_block(self.cox_robust, robust=True),
            "pairwise_logrank": {
                "single_vs_multiple": {"chisq": pw.chisq if pw else None, "p": pw.p if pw else None}
            },
            "estimands": self.estimands(),
            "diagnostics": [asdict(d) for d in self.diagnostics()],
        }
        return json_safe(out)


def json_safe(obj):
    """Recursively convert to JSON-serialisable Python: NaN/inf -> None, numpy scalars -> int/float/bool."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def run_matched_analysis(
    cohort: pd.DataFrame,
    tau: float | None = None,
    caliper: float | None = None,
    ratio: int = 1,
    extra_ps_covariates: Sequence[str] = (),
    ps_covariates: Sequence[str] = PS_COVARIATES,
    rmst_min_at_risk: int = RMST_MIN_AT_RISK,
    survival_times: Sequence[int] = SURVIVAL_TIMES,
    alsfrs_cut: float = ALSFRS_CUT,
    age_cut: float = AGE_CUT,
) -> StudyResult:
    """PS (glm on ``ps_covariates`` + ``extra_ps_covariates``) -> greedy NN matching (MatchIt rule, ``caliper`` in
    SD of the score) -> outcomes on the matched set. The defaults are the paper's (studies/nam2023.yml states
    them; als_eca.study.spec passes a study's).

    ``tau`` for the RMST defaults to the largest time at which both arms of the matched set still have
    ``rmst_min_at_risk`` patients at risk (an arm with fewer patients: the smaller of the two arms' last follow-up).
    """
    extra = tuple(extra_ps_covariates)
    df = validate_cohort(cohort, extra)
    ps_fit, ps = propensity_score(df, extra_covariates=extra, covariates=ps_covariates)
    m = match_on_score(df["subject_id"], df["treated"], ps, ratio=ratio, caliper=caliper)
    if m.pairs.empty:
        raise ValueError("no matched pairs (caliper too narrow?)")
    covs = design_covariates(df, extra)
    w = m.weights.reindex(df["subject_id"]).to_numpy()
    smd_before = smd_table(covs, df["treated"])
    smd_after = smd_table(covs, df["treated"], weights=w)
    pair_of = dict(zip(m.pairs["control_id"], m.pairs["subclass"], strict=True))
    pair_of.update(dict(zip(m.pairs["treated_id"], m.pairs["subclass"], strict=False)))
    matched = df.loc[w > 0].copy()
    matched["pair"] = matched["subject_id"].map(pair_of).astype(int)
    matched["ps"] = ps[w > 0]
    t = matched["time_days"].astype(float).to_numpy()
    e = matched["event"].astype(int).to_numpy()
    arm = np.where(matched["treated"].astype(int) == 1, "treated", "control")
    km = {a: kaplan_meier(t[arm == a], e[arm == a]) for a in ("treated", "control")}
    lr = logrank_test(t, e, arm)
    if tau is None:  # the stated rule: as far as both arms still have RMST_MIN_AT_RISK patients at risk
        horizon = rmst_horizon(t, arm == "treated", min_at_risk=rmst_min_at_risk)
        tau = float(horizon.value) if horizon.passed is not False else \
            float(min(t[arm == "treated"].max(), t[arm == "control"].max()))
    rmst = {a: km[a].rmst(tau) for a in ("treated", "control")}
    x = cox_design(matched, alsfrs_cut, age_cut)
    x = x.loc[
        :, (x != 0).any() & (x != 1).any()
    ]  # a constant term (e.g. no 'multiple' patient) is not estimable
    try:
        cox = fit_cox(t, e, x)
        cox_r = fit_cox(t, e, x, cluster=matched["pair"].to_numpy())
    except (np.linalg.LinAlgError, RuntimeError) as exc:
        # Not estimable on this matched set (e.g. no deaths in a group: monotone likelihood, infinite HR). The
        # survival results stand; the Cox model is reported as missing, with the reason, rather than failing all.
        warnings.warn(f"Cox model not estimable on the matched set: {exc}", stacklevel=2)
        cox = cox_r = None
    tr = matched["treated"].astype(int).to_numpy() == 1
    grp = matched["group"].astype(str).to_numpy()
    pw = logrank_test(t[tr], e[tr], grp[tr]) if len(set(grp[tr])) == 2 else None
    return StudyResult(
        n_treated=int((df["treated"] == 1).sum()),
        n_control=int((df["treated"] == 0).sum()),
        ps_fit=ps_fit,
        scores=pd.Series(ps, index=df["subject_id"].to_numpy()),
        matching=m,
        smd_before=smd_before,
        smd_after=smd_after,
        matched=matched,
        km=km,
        logrank=lr,
        tau=tau,
        rmst=rmst,
        cox=cox,
        cox_robust=cox_r,
        pairwise_single_vs_multiple=pw,
        treated=pd.Series(df["treated"].to_numpy(int), index=df["subject_id"].to_numpy()),
        covariates=covs.set_axis(df["subject_id"].to_numpy()),
        ratio=ratio,
        cox_terms=cox_terms(alsfrs_cut, age_cut),
        survival_times=tuple(int(t) for t in survival_times),
        rmst_min_at_risk=rmst_min_at_risk,
    )


def run_sensitivity_analyses(cohort: pd.DataFrame, **kwargs) -> dict[str, StudyResult]:
    """The sensitivity analyses (requires ``progression_speed``):

    * ``ps_with_speed``: progression speed added to the propensity model;
    * ``speed_iqr``: only patients whose speed lies within [Q1, Q3] (R quantile type 7) of the analysed cohort
      (both arms pooled, after the ``eligible`` filter), then the full analysis re-run (PS refitted, re-matched);
    * ``within_followup`` (when the cohort has ``WITHIN_FOLLOWUP_COLUMNS``): deaths counted only within the ALSFRS
      follow-up. The paper's rule counts deaths after the last visit while censoring survivors at it, which
      favours treatment when deaths are tracked beyond the visits.

    ``kwargs`` are passed to :func:`run_matched_analysis` (tau, caliper, ratio).
    """
    return {name: run() for name, run in sensitivity_variants(cohort, **kwargs).items()}


def sensitivity_variants(cohort: pd.DataFrame, **kwargs) -> dict[str, Callable[[], StudyResult]]:
    """The sensitivity analyses of :func:`run_sensitivity_analyses`, each as a callable, so that a caller can run
    them one by one (and report one that is not estimable on a small cohort without losing the others)."""
    df = validate_cohort(cohort, ("progression_speed",))
    variants = {
        "ps_with_speed": lambda: run_matched_analysis(df, extra_ps_covariates=("progression_speed",), **kwargs),
        "speed_iqr": lambda: run_matched_analysis(df.loc[iqr_mask(df["progression_speed"])], **kwargs),
    }
    if set(WITHIN_FOLLOWUP_COLUMNS) <= set(df.columns):
        time, event = WITHIN_FOLLOWUP_COLUMNS
        within = df.assign(time_days=df[time], event=df[event])
        variants["within_followup"] = lambda: run_matched_analysis(within, **kwargs)
    return variants
