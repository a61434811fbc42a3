"""Covariate balance: MatchIt standardised mean differences and the paper's Table 1.

SMD (MatchIt 4.x ``summary.matchit``, internal ``bal1var`` with ``s.d.denom = "treated"``):
``(mean_t - mean_c) / sd_t`` where ``sd_t`` is the standard deviation of the TREATED group in the full
(unmatched) sample, the same denominator before and after matching. For a binary (0/1) covariate the variance
is ``p (1 - p)`` (no n-1 correction, MatchIt ``wvar``); for other covariates the n-1 sample variance. A mean
difference below sqrt(machine eps) is reported raw (MatchIt does not standardise it); a zero treated SD falls
back to the pooled SD sqrt((v_t + v_c) / 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

_EPS = float(np.sqrt(np.finfo(float).eps))


def _is_binary(x: np.ndarray) -> bool:
    return bool(np.all((x == 0) | (x == 1)))


def _var(x: np.ndarray, binary: bool) -> float:
    if binary:
        p = float(np.mean(x))
        return p * (1 - p)
    return float(np.var(x, ddof=1)) if len(x) > 1 else np.nan


def smd_table(
    covariates: pd.DataFrame,
    treated: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """MatchIt SMDs. Without ``weights``: all units (``sum.all``); with matching ``weights``: the matched set
    (``sum.matched``, weighted means, denominator still from all treated units).

    Returns columns ``mean_treated, mean_control, smd`` indexed by covariate.
    """
    tr = np.asarray(treated).astype(int)
    w = np.ones(len(tr)) if weights is None else np.asarray(weights, dtype=float)
    out = {}
    for col in covariates.columns:
        x = covariates[col].to_numpy(dtype=float)
        binary = _is_binary(x)
        t, c = tr == 1, tr == 0
        mt = float(np.sum(x[t] * w[t]) / np.sum(w[t]))
        mc = float(np.sum(x[c] * w[c]) / np.sum(w[c]))
        diff = mt - mc
        if abs(diff) <= _EPS:
            smd = diff
        else:
            sd = np.sqrt(_var(x[t], binary))
            if not np.isfinite(sd) or sd < _EPS:
                sd = np.sqrt((_var(x[t], binary) + _var(x[c], binary)) / 2)
            smd = diff / sd
        out[col] = (mt, mc, smd)
    return pd.DataFrame.from_dict(out, orient="index", columns=["mean_treated", "mean_control", "smd"])


def _continuous_test(data: pd.DataFrame, group: str, levels: list, var: str):
    """Per group the non-missing values of ``var``, and Welch's t-test of the first group against the second."""
    xs = [data.loc[data[group] == lv, var].dropna().astype(float).to_numpy() for lv in levels]
    res = stats.ttest_ind(xs[0], xs[1], equal_var=False)
    return xs, float(res.statistic), float(res.pvalue)


def _categorical_test(data: pd.DataFrame, group: str, levels: list, var: str):
    """The level x group counts of ``var`` (columns in ``levels`` order), the Pearson chi-square (Yates for 2x2)
    and the test's name."""
    sub = data[[group, var]].dropna()
    tab = pd.crosstab(sub[var], sub[group]).reindex(columns=levels, fill_value=0)
    stat, p = chisq_test(tab.to_numpy())
    return tab, stat, p, "Pearson chi-square" + (" (Yates)" if tab.shape == (2, 2) else "")


def _two_levels(data: pd.DataFrame, group: str) -> list:
    levels = sorted(data[group].dropna().unique().tolist())
    if len(levels) != 2:
        raise ValueError(f"column {group!r} must have exactly two groups, found {levels}")
    return levels


def table_one(
    data: pd.DataFrame,
    group: str,
    continuous: Sequence[str] = (),
    categorical: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    digits: int = 2,
) -> pd.DataFrame:
    """Baseline table for two groups: mean ± SD with Welch t-test (R ``t.test`` default ``var.equal=FALSE``; the
    paper says "t-test" and R's default is Welch), n (%) with Pearson chi-square (R ``chisq.test`` default: Yates
    continuity correction for 2x2 tables).

    ``group`` must have exactly two levels; columns are the levels in sorted order, then ``test``, ``statistic``,
    ``p``. Categorical variables get one header row (with the test) and one row per level. (The report's layout of
    the same tests: ``baseline_table``.)
    """
    labels = dict(labels or {})
    levels = _two_levels(data, group)
    rows = []
    for var in continuous:
        xs, t, p = _continuous_test(data, group, levels, var)
        row = {"variable": labels.get(var, var), "level": ""}
        for lv, x in zip(levels, xs, strict=True):
            row[str(lv)] = f"{np.mean(x):.{digits}f} ± {np.std(x, ddof=1):.{digits}f}"
        row.update(test="Welch t-test", statistic=t, p=p)
        rows.append(row)
    for var in categorical:
        tab, stat, p, test = _categorical_test(data, group, levels, var)
        rows.append(
            {
                "variable": labels.get(var, var),
                "level": "",
                **{str(lv): "" for lv in levels},
                "test": test,
                "statistic": stat,
                "p": p,
            }
        )
        for lev, counts in tab.iterrows():
            row = {"variable": "", "level": str(lev)}
            for lv in levels:
                n = int(counts[lv])
                tot = int(tab[lv].sum())
                row[str(lv)] = f"{n} ({100 * n / tot:.1f}%)" if tot else "0"
            row.update(test="", statistic=np.nan, p=np.nan)
            rows.append(row)
    return pd.DataFrame(rows, columns=["variable", "level", *map(str, levels), "test", "statistic", "p"])


@dataclass(frozen=True)
class Characteristic:
    """One row of a clinical Table 1: ``label`` as printed (with unit and summary, e.g. "Age, years, mean (SD)"),
    the data column ``variable``; for a categorical variable the ``level`` counted (n (%) of that level; the
    chi-square test is over all its levels); ``smd`` the covariate of the SMD table shown on the row (default
    ``variable``)."""

    label: str
    variable: str
    level: Any = None
    smd: str | None = None


def baseline_table(
    data: pd.DataFrame,
    group: str,
    treated: Any,
    control: Any,
    rows: Sequence[Characteristic],
    smd: pd.Series | None = None,
    digits: int = 1,
) -> pd.DataFrame:
    """Table 1 as a clinical report prints it: one row per characteristic with ``treated`` and ``control`` -
    mean (SD) or n (%) of the row's level - the p-value of the same tests as ``table_one`` (Welch t-test;
    Pearson chi-square over all levels, Yates for 2x2) and the row's SMD from ``smd`` (indexed by covariate,
    e.g. ``smd_table(...)["smd"]``; NaN where it has none). Columns: ``characteristic, treated, control, test, p,
    smd``; ``treated``/``control`` are text."""
    levels = _two_levels(data, group)
    if {treated, control} != set(levels):
        raise ValueError(f"groups {treated!r} and {control!r} are not the levels of {group!r}: {levels}")
    out = []
    for row in rows:
        if row.level is None:
            xs, _, p = _continuous_test(data, group, levels, row.variable)
            cell = {lv: f"{np.mean(x):.{digits}f} ({np.std(x, ddof=1):.{digits}f})" for lv, x in
                    zip(levels, xs, strict=True)}
            test = "Welch t-test"
        else:
            tab, _, p, test = _categorical_test(data, group, levels, row.variable)
            counts = tab.loc[row.level] if row.level in tab.index else pd.Series(0, index=levels)
            cell = {lv: f"{int(counts[lv])} ({100 * counts[lv] / tab[lv].sum():.{digits}f})" if tab[lv].sum() else "0"
                    for lv in levels}
        key = row.smd or row.variable
        value = float(smd[key]) if smd is not None and key in smd.index else np.nan
        out.append({"characteristic": row.label, "treated": cell[treated], "control": cell[control], "test": test,
                    "p": p, "smd": value})
    return pd.DataFrame(out, columns=["characteristic", "treated", "control", "test", "p", "smd"])


def chisq_test(table: np.ndarray, correct: bool = True) -> tuple[float, float]:
    """Pearson chi-square as R ``chisq.test``: for a 2x2 table with ``correct`` the Yates correction
    ``sum((|O - E| - min(0.5, |O - E|))^2 / E)``; df = (r-1)(c-1). Returns (statistic, p)."""
    o = np.asarray(table, dtype=float)
    o = o[o.sum(axis=1) > 0][:, o.sum(axis=0) > 0]
    if o.shape[0] < 2 or o.shape[1] < 2:
        return np.nan, np.nan
    e = np.outer(o.sum(axis=1), o.sum(axis=0)) / o.sum()
    if correct and o.shape == (2, 2):
        yates = min(0.5, float(np.min(np.abs(o - e))))
        stat = float(np.sum((np.abs(o - e) - yates) ** 2 / e))
    else:
        stat = float(np.sum((o - e) ** 2 / e))
    df = (o.shape[0] - 1) * (o.shape[1] - 1)
    return stat, float(stats.chi2.sf(stat, df))
