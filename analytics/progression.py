"""Initial progression speed, functional change at 12 months and subgroup comparisons (Nam et al. 2023).

Progression speed (Kimura et al. 2006; the paper's "initial progression speed"):
``(48 - baseline ALSFRS-R) / months from onset to baseline``; months = days / 30.44 (the mean Gregorian month
rounded as commonly done in R clinical code; 365.25 / 12 = 30.4375 differs by 0.008 %). Onset imputed as
diagnosis - 12 months is done upstream (dbt), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics.survival import KaplanMeier, LogRank, kaplan_meier, logrank_test

DAYS_PER_MONTH = 30.44  # the study's month; dbt's var `days_per_month` is held equal to it (tested)
ALSFRS_R_MAX = 48.0


def progression_speed(alsfrs_r_baseline, onset_to_baseline_days) -> np.ndarray:
    """Points lost per month since onset; NaN where the interval is not positive (speed undefined)."""
    a = np.asarray(alsfrs_r_baseline, dtype=float)
    d = np.asarray(onset_to_baseline_days, dtype=float)
    if ((a < 0) | (a > ALSFRS_R_MAX)).any():
        raise ValueError("ALSFRS-R must lie in 0..48")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, (ALSFRS_R_MAX - a) / (d / DAYS_PER_MONTH), np.nan)


@dataclass(frozen=True)
class GroupComparison:
    """Two-group Welch t-test (R ``t.test`` default): means, SDs, difference a - b, t, df, p."""

    group_a: str
    group_b: str
    n_a: int
    n_b: int
    mean_a: float
    sd_a: float
    mean_b: float
    sd_b: float
    difference: float
    t: float
    df: float
    p: float


def compare_groups(values, groups, group_a, group_b) -> GroupComparison:
    """Welch two-sample t-test of ``values`` between ``group_a`` and ``group_b`` (missing values dropped);
    df by Welch-Satterthwaite, as R ``t.test(x, y)``."""
    v = pd.Series(np.asarray(values, dtype=float))
    g = pd.Series(np.asarray(groups))
    a = v[(g == group_a).to_numpy()].dropna().to_numpy()
    b = v[(g == group_b).to_numpy()].dropna().to_numpy()
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each group needs at least two non-missing values")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return GroupComparison(
        str(group_a),
        str(group_b),
        len(a),
        len(b),
        float(a.mean()),
        float(a.std(ddof=1)),
        float(b.mean()),
        float(b.std(ddof=1)),
        float(a.mean() - b.mean()),
        float(t),
        float(df),
        float(2 * stats.t.sf(abs(t), df)),
    )


def iqr_mask(values) -> np.ndarray:
    """True for values within [Q1, Q3] (R ``quantile(x, c(.25, .75))``, type 7 = numpy's default 'linear');
    used for sensitivity analysis (b). Missing values are False."""
    v = np.asarray(values, dtype=float)
    ok = ~np.isnan(v)
    q1, q3 = np.quantile(v[ok], [0.25, 0.75], method="linear")
    return ok & (v >= q1) & (v <= q3)


def alsfrs_change(
    visits: pd.DataFrame, baseline: pd.Series, target_day: float = 365.0, window: float = 90.0
) -> pd.DataFrame:
    """ALSFRS-R change from baseline to ``target_day`` per subject.

    ``visits`` has ``subject_id, visit_day, alsfrs_r_total`` (days from baseline/first dose); ``baseline`` is the
    baseline total indexed by subject_id. The follow-up value is the visit nearest ``target_day`` within
    ``+- window`` days (default 12 months +- 90 days, a quarter-year, the usual PRO-ACT visit spacing); equally
    near visits: the earlier one. Subjects without such a visit are omitted. Returns ``subject_id, visit_day,
    baseline, value, change`` (value - baseline; negative = decline).
    """
    for c in ("subject_id", "visit_day", "alsfrs_r_total"):
        if c not in visits.columns:
            raise ValueError(f"visits is missing required column {c!r}")
    v = visits.dropna(subset=["visit_day", "alsfrs_r_total"]).copy()
    v["gap"] = (v["visit_day"].astype(float) - target_day).abs()
    v = v[v["gap"] <= window].sort_values(["subject_id", "gap", "visit_day"], kind="stable")
    v = v.drop_duplicates("subject_id")
    v = v[v["subject_id"].isin(baseline.index)]
    out = pd.DataFrame(
        {
            "subject_id": v["subject_id"].to_numpy(),
            "visit_day": v["visit_day"].to_numpy(dtype=float),
            "baseline": baseline.reindex(v["subject_id"]).to_numpy(dtype=float),
            "value": v["alsfrs_r_total"].to_numpy(dtype=float),
        }
    )
    out["change"] = out["value"] - out["baseline"]
    return out.dropna(subset=["baseline"]).reset_index(drop=True)


@dataclass(frozen=True)
class SubgroupSurvival:
    """KM per subgroup level and the log-rank test between them."""

    km: dict[str, KaplanMeier]
    logrank: LogRank


def subgroup_survival(
    data: pd.DataFrame, by: str, time: str = "time_days", event: str = "event"
) -> SubgroupSurvival:
    """KM + log-rank by a subgroup column (e.g. ``korean`` among matched treated patients)."""
    if by not in data.columns:
        raise ValueError(f"missing column {by!r}")
    d = data.dropna(subset=[by])
    g = d[by].astype(str).to_numpy()
    t = d[time].to_numpy(dtype=float)
    e = d[event].to_numpy(dtype=int)
    km = {lv: kaplan_meier(t[g == lv], e[g == lv]) for lv in sorted(set(g))}
    return SubgroupSurvival(km=km, logrank=logrank_test(t, e, g))
