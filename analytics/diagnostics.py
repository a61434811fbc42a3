"""Study diagnostics of a propensity-score-matched external-control comparison, each a value, a threshold and a
verdict (:class:`Diagnostic`).

Why: an externally controlled survival comparison is only credible when the design holds up: the arms overlap
(equipoise), the matched set is balanced and still resembles the treated patients it started from, the study can
detect a plausible effect at all, both arms are followed alike, the RMST horizon is supported by patients at risk
in both arms, and the Cox model's proportional hazards assumption is not contradicted. OHDSI's CohortMethod
(``exportToCsv`` diagnostics, ``createCmDiagnosticThresholds``) makes such checks pass/fail; we follow its
definitions and defaults where it has them and say so where we choose our own.

Each function is checked against R in ``tests/analytics/r/estimands_reference.R`` (formulas written out there).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analytics.balance import smd_table
from analytics.survival import kaplan_meier


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic: ``value`` compared with ``threshold`` gives ``passed`` (``None``: not assessable, e.g. a
    median not reached; CohortMethod's "NOT EVALUATED"). ``detail`` says in words what was found and against what
    rule; ``values`` holds the supporting numbers (per arm, per covariate, ...)."""

    name: str
    value: float
    threshold: float | tuple[float, float]
    passed: bool | None
    detail: str
    values: Mapping[str, Any] = field(default_factory=dict)


def _binary(treated) -> np.ndarray:
    tr = np.asarray(treated)
    if tr.ndim != 1 or not np.isin(tr, [0, 1, True, False]).all():
        raise ValueError("treated must be a 1-d 0/1 array")
    tr = tr.astype(int)
    if tr.min() == tr.max():
        raise ValueError("treated must contain both arms")
    return tr


# --------------------------------------------------------------------------------------------------------------
# Equipoise
# --------------------------------------------------------------------------------------------------------------


def preference_score(ps, treated) -> np.ndarray:
    """Walker et al. (2013) preference score: the propensity score with the treated share P taken out,
    ``logit(F) = logit(PS) - logit(P)``, so that F = 0.5 means "as likely as the average patient to be treated"
    whatever the arm sizes (CohortMethod ``computePreferenceScore``, which also caps PS at 0.9999999).

    ``treated`` is the population the PS was fitted on (P = its mean): for this study the eligible cohort before
    matching.
    """
    tr = _binary(treated)
    ps = np.asarray(ps, dtype=float)
    if ps.shape != tr.shape or not ((ps >= 0) & (ps <= 1)).all():
        raise ValueError("ps must be probabilities, one per patient")
    p = tr.mean()
    ps = np.minimum(ps, 0.9999999)
    with np.errstate(divide="ignore"):
        logit = np.log(ps / (1 - ps)) - math.log(p / (1 - p))
    return 1 / (1 + np.exp(-logit))


def equipoise(ps, treated, bounds: tuple[float, float] = (0.3, 0.7), threshold: float = 0.2) -> Diagnostic:
    """Share of all patients (both arms) whose preference score lies in ``bounds`` (inclusive), as CohortMethod
    ``computeEquipoise(data, equipoiseBounds = c(0.3, 0.7))``; passed when ``share >= threshold``.

    Threshold: 0.2 is CohortMethod's documented default ``createCmDiagnosticThresholds(equipoiseThreshold = 0.2)``
    ("the minimum required equipoise"; https://ohdsi.github.io/CohortMethod/reference/createCmDiagnosticThresholds.html).
    Walker et al. (2013, Comparative Effectiveness Research 3:11-20) proposed a stricter reading, at least half of
    the patients in [0.3, 0.7]; pass ``threshold=0.5`` for it. The per-arm shares are in ``values`` as well.
    """
    tr = _binary(treated)
    lo, hi = bounds
    if not 0 <= lo < hi <= 1:
        raise ValueError("bounds must satisfy 0 <= lower < upper <= 1")
    f = preference_score(ps, tr)
    inside = (f >= lo) & (f <= hi)
    share = float(inside.mean())
    values = {
        "proportion_treated": float(tr.mean()),
        "n": int(len(tr)),
        "n_inside": int(inside.sum()),
        "share_treated": float(inside[tr == 1].mean()),
        "share_control": float(inside[tr == 0].mean()),
        "preference_min": float(f.min()),
        "preference_max": float(f.max()),
    }
    passed = share >= threshold
    detail = (
        f"{share:.1%} of {len(tr)} patients ({values['share_treated']:.1%} of treated, "
        f"{values['share_control']:.1%} of controls) have a preference score in [{lo:g}, {hi:g}]; "
        f"{'meets' if passed else 'is below'} the required share of {threshold:.0%}"
    )
    return Diagnostic("equipoise", share, threshold, passed, detail, values)


# --------------------------------------------------------------------------------------------------------------
# Power
# --------------------------------------------------------------------------------------------------------------


def minimum_detectable_hr(
    n_events: int, p_treated: float, alpha: float = 0.05, power: float = 0.8, max_mdrr: float = 10.0
) -> Diagnostic:
    """Minimum detectable hazard ratio of a two-sided level-``alpha`` Cox/log-rank test with ``power``, from
    Schoenfeld's (1983, Biometrics 39:499-503) events formula ``D = (z_(1-alpha/2) + z_(1-beta))^2 /
    (p (1 - p) log(HR)^2)`` solved for HR: ``log HR = +-(z_(1-alpha/2) + z_power) / sqrt(D p (1 - p))``, ``p`` the
    treated share of the analysed (matched) set, ``D`` its number of events.

    ``value`` is the MDRR > 1, as CohortMethod ``computeMdrr(modelType = "cox")``; its reciprocal, the smallest
    detectable protective HR (the direction this study hopes for), is ``values["protective"]``. Passed when
    ``MDRR < max_mdrr``; 10 is CohortMethod's ``mdrrThreshold`` default, a lenient rule that only flags studies
    with almost no power. Compare ``values["protective"]`` with the effect size the study must be able to see.
    """
    if not 0 < p_treated < 1:
        raise ValueError("p_treated must be in (0, 1)")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must be in (0, 1)")
    d = int(n_events)
    if d <= 0:
        return Diagnostic(
            "minimum_detectable_hr",
            math.inf,
            max_mdrr,
            False,
            "no events: nothing is detectable",
            {"events": d},
        )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    se = 1 / math.sqrt(d * p_treated * (1 - p_treated))
    mdrr = math.exp(z * se)
    passed = mdrr < max_mdrr
    detail = (
        f"with {d} events and {p_treated:.0%} treated, a two-sided test at {alpha:g} has {power:.0%} power for "
        f"HR <= {1 / mdrr:.3f} or HR >= {mdrr:.3f} (Schoenfeld); MDRR {'<' if passed else '>='} {max_mdrr:g}"
    )
    values = {
        "events": d,
        "p_treated": float(p_treated),
        "mdrr": mdrr,
        "protective": 1 / mdrr,
        "se_log_hr": se,
    }
    return Diagnostic("minimum_detectable_hr", mdrr, max_mdrr, passed, detail, values)


# --------------------------------------------------------------------------------------------------------------
# Follow-up and the RMST horizon
# --------------------------------------------------------------------------------------------------------------


def followup_parity(time, event, treated, max_ratio: float = 1.5, conf_level: float = 0.95) -> Diagnostic:
    """Median potential follow-up per arm by the reverse Kaplan-Meier method (Schemper & Smith 1996, Control Clin
    Trials 17:343-6: censoring is the event, deaths are censored; R ``survfit(Surv(time, 1 - event) ~ arm)``,
    median and CI as ``print.survfit``), and the ratio treated / control.

    Why: an external control followed for a shorter (or longer) time than the treated arm biases the comparison
    of late survival, and the RMST horizon and survival at 3 years rest on both arms being still observed.

    Passed when ``1/max_ratio <= ratio <= max_ratio``. The 1.5 band is our own convention (no package default
    exists); ``None`` when either median is not reached.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    tr = _binary(treated)
    med = {}
    for arm, code in (("treated", 1), ("control", 0)):
        km = kaplan_meier(t[tr == code], 1 - e[tr == code], conf_level=conf_level)
        m, lo, hi = km.median()
        med[arm] = {"median": m, "lower": lo, "upper": hi, "n": km.n}
    ratio = med["treated"]["median"] / med["control"]["median"]
    band = (1 / max_ratio, max_ratio)
    if np.isnan(ratio):
        passed = None
        verdict = "not assessable: a median potential follow-up is not reached"
    else:
        passed = bool(band[0] <= ratio <= band[1])
        verdict = f"{'within' if passed else 'outside'} [{band[0]:.3g}, {band[1]:.3g}]"
    detail = (
        f"median potential follow-up (reverse KM) treated {med['treated']['median']:g} "
        f"({med['treated']['lower']:g}-{med['treated']['upper']:g}), control {med['control']['median']:g} "
        f"({med['control']['lower']:g}-{med['control']['upper']:g}); ratio {ratio:.3f}, {verdict}"
    )
    return Diagnostic("followup_parity", ratio, band, passed, detail, {**med, "ratio": ratio})


def rmst_horizon(time, treated, min_at_risk: int = 10) -> Diagnostic:
    """The largest time ``tau`` at which both arms still have at least ``min_at_risk`` patients at risk (follow-up
    time >= tau): per arm the last Kaplan-Meier time with ``n_risk >= min_at_risk`` (its ``min_at_risk``-th largest
    follow-up time), then the smaller of the two.

    Why: the RMST up to tau integrates the KM curve; where few patients remain its tail rests on a handful of
    patients and its variance formula is unreliable. A pre-stated at-risk rule is a common, transparent choice of
    tau; 10 is our default. ``passed`` is False when an arm has fewer than ``min_at_risk`` patients at all.
    """
    t = np.asarray(time, dtype=float)
    tr = _binary(treated)
    if min_at_risk < 1:
        raise ValueError("min_at_risk must be >= 1")
    per_arm = {}
    for arm, code in (("treated", 1), ("control", 0)):
        tab = kaplan_meier(t[tr == code], np.zeros(int((tr == code).sum()))).table
        ok = tab["n_risk"].to_numpy() >= min_at_risk
        per_arm[arm] = float(tab["time"].to_numpy()[ok].max()) if ok.any() else math.nan
    if any(np.isnan(v) for v in per_arm.values()):
        short = [a for a, v in per_arm.items() if np.isnan(v)]
        return Diagnostic(
            "rmst_horizon",
            math.nan,
            min_at_risk,
            False,
            f"{' and '.join(short)} has fewer than {min_at_risk} patients in total: no horizon satisfies the rule",
            per_arm,
        )
    tau = min(per_arm.values())
    limiting = "treated" if per_arm["treated"] <= per_arm["control"] else "control"
    at_tau = {a: int((t[tr == c] >= tau).sum()) for a, c in (("treated", 1), ("control", 0))}
    detail = (
        f"tau = {tau:g}: the last time with at least {min_at_risk} patients at risk in both arms "
        f"({at_tau['treated']} treated, {at_tau['control']} control at risk); the {limiting} arm falls below "
        f"{min_at_risk} right after it (treated arm alone would allow {per_arm['treated']:g}, "
        f"control {per_arm['control']:g})"
    )
    values = {"tau_treated": per_arm["treated"], "tau_control": per_arm["control"], "at_risk": at_tau}
    return Diagnostic("rmst_horizon", tau, min_at_risk, True, detail, values)


# --------------------------------------------------------------------------------------------------------------
# Balance, matched sets, generalisability
# --------------------------------------------------------------------------------------------------------------


def _smd_series(smd: pd.DataFrame | pd.Series) -> pd.Series:
    s = smd["smd"] if isinstance(smd, pd.DataFrame) else smd
    s = pd.Series(s, dtype=float)
    if s.empty:
        raise ValueError("empty SMD table")
    return s


def max_abs_smd(smd: pd.DataFrame | pd.Series, threshold: float = 0.1) -> Diagnostic:
    """Largest absolute standardised mean difference after matching (an :func:`analytics.balance.smd_table`
    result or its ``smd`` column); passed when ``max |SMD| < threshold``, as CohortMethod's balance diagnostic
    (``sdmThreshold = 0.1``, strict ``<``; Austin 2009, Stat Med 28:3083-107, for the 0.1 rule)."""
    s = _smd_series(smd)
    if s.isna().any():
        return Diagnostic(
            "max_abs_smd", math.nan, threshold, None, f"SMD missing for {list(s.index[s.isna()])}", dict(s)
        )
    worst = s.abs().idxmax()
    value = float(abs(s[worst]))
    passed = value < threshold
    over = s.index[s.abs() >= threshold].tolist()
    detail = f"max |SMD| = {value:.3f} ({worst}); " + (
        f"{len(over)} covariate(s) at or above {threshold:g}: {', '.join(map(str, over))}"
        if over
        else f"all below {threshold:g}"
    )
    return Diagnostic("max_abs_smd", value, threshold, passed, detail, {"worst": worst, "smd": dict(s)})


def short_matched_sets(pairs: pd.DataFrame, ratio: int, treated_ids=None) -> Diagnostic:
    """Matched sets with fewer than ``ratio`` controls, from a pairs table (``treated_id, control_id``, one row per
    matched control, as :class:`analytics.matching.MatchResult.pairs`).

    Why: with 1:k matching inside a caliper, some treated patients get fewer than k controls; the matched analysis
    then weights those sets differently (MatchIt weights) and the effective control sample is smaller than k x the
    treated. ``value`` is the number of such short sets (1 to k-1 controls); passed when it is 0. With
    ``treated_ids`` (all treated patients offered to matching) the treated left with no control at all are counted
    too (``values["n_unmatched"]``); they are a generalisability matter (see :func:`generalisability`), not a short
    set.
    """
    if ratio < 1:
        raise ValueError("ratio must be >= 1")
    counts = pairs.groupby("treated_id")["control_id"].size()
    if (counts > ratio).any():
        raise ValueError(f"some treated have more than {ratio} controls: wrong ratio?")
    if treated_ids is not None:
        ids = pd.Index(pd.unique(np.asarray(treated_ids)))
        if not counts.index.isin(ids).all():
            raise ValueError("pairs name treated patients not in treated_ids")
        counts = counts.reindex(ids, fill_value=0)
    n_short = int(((counts > 0) & (counts < ratio)).sum())
    values = {
        "ratio": ratio,
        "n_treated": int(len(counts)),
        "n_full": int((counts == ratio).sum()),
        "n_short": n_short,
        "n_unmatched": int((counts == 0).sum()) if treated_ids is not None else None,
        "n_controls": int(len(pairs)),
        "by_n_controls": {int(k): int(v) for k, v in counts.value_counts().sort_index().items()},
    }
    detail = f"{n_short} of {values['n_full'] + n_short} matched sets have fewer than {ratio} controls"
    if treated_ids is not None:
        detail += f"; {values['n_unmatched']} of {len(counts)} treated have no control"
    return Diagnostic("short_matched_sets", n_short, 0, n_short == 0, detail, values)


def generalisability(covariates: pd.DataFrame, treated, matched, threshold: float = 0.1) -> Diagnostic:
    """Do the matched treated still resemble all eligible treated? Per covariate the SMD of all eligible treated
    vs the matched treated, ``(mean_all - mean_matched) / sd_all``, with :func:`analytics.balance.smd_table`'s
    (MatchIt's) conventions (0/1 covariates: variance p(1-p); others: n-1 variance; the SD of all eligible
    treated as denominator). This is CohortMethod's ``targetStdDiff`` ("the target before PS adjustment vs the
    target after"), its generalisability diagnostic.

    Why: a caliper drops treated patients without a close control; the estimate is then for the matched treated,
    and if they differ from the treated population it no longer describes it (ATT on a subset).

    ``covariates`` rows align with ``treated`` (0/1) and ``matched`` (bool) over the eligible cohort; only treated
    rows are used. Passed when ``max |SMD| < threshold``. 0.1 is our choice (the balance rule); CohortMethod's
    ``generalizabilitySdmThreshold`` default is far laxer (1 on its reference site, 999 in a later CRAN manual),
    so there it flags little.
    """
    tr = _binary(treated).astype(bool)
    m = np.asarray(matched, dtype=bool)
    if len(covariates) != len(tr) or m.shape != tr.shape:
        raise ValueError("covariates, treated and matched must have one row per patient")
    all_t = covariates.loc[tr].reset_index(drop=True)
    mat_t = covariates.loc[tr & m].reset_index(drop=True)
    if mat_t.empty:
        raise ValueError("no matched treated patients")
    stacked = pd.concat([all_t, mat_t], ignore_index=True)
    group = np.r_[np.ones(len(all_t), int), np.zeros(len(mat_t), int)]
    s = smd_table(stacked, group)["smd"]
    worst = s.abs().idxmax()
    value = float(abs(s[worst]))
    passed = value < threshold
    detail = (
        f"{len(mat_t)} of {len(all_t)} eligible treated are matched; their largest |SMD| against all eligible "
        f"treated is {value:.3f} ({worst}), {'below' if passed else 'at or above'} {threshold:g}"
    )
    values = {"n_treated": len(all_t), "n_matched_treated": len(mat_t), "worst": worst, "smd": dict(s)}
    return Diagnostic("generalisability", value, threshold, passed, detail, values)


# --------------------------------------------------------------------------------------------------------------
# Proportional hazards
# --------------------------------------------------------------------------------------------------------------


def proportional_hazards(zph: pd.DataFrame, alpha: float = 0.05) -> list[Diagnostic]:
    """Verdict per term and ``GLOBAL`` from :func:`analytics.cox.cox_zph` (R ``cox.zph(fit)$table``: ``chisq, df,
    p``): passed when ``p >= alpha``, i.e. the Grambsch-Therneau score test does not reject proportional hazards
    for that term.

    Why: the hazard ratio of a Cox model is a single number only if the hazards are proportional; a rejected term
    means its HR averages a time-varying effect (the RMST and survival differences stay interpretable). The test
    has low power in small samples and flags trivial departures in large ones; read it with the scaled Schoenfeld
    residual plot.
    """
    need = {"chisq", "df", "p"}
    if not need <= set(zph.columns):
        raise ValueError(f"zph needs columns {sorted(need)}")
    out = []
    for term, row in zph.iterrows():
        p = float(row["p"])
        passed = None if np.isnan(p) else p >= alpha
        detail = (
            f"{term}: chisq {row['chisq']:.3f} on {int(row['df'])} df, p = {p:.3g}; proportional hazards "
            + ("not assessable" if passed is None else "not rejected" if passed else f"rejected at {alpha:g}")
        )
        out.append(
            Diagnostic(
                f"proportional_hazards[{term}]",
                p,
                alpha,
                passed,
                detail,
                {"term": term, "chisq": float(row["chisq"]), "df": int(row["df"])},
            )
        )
    return out
