"""Kaplan-Meier, log-rank and restricted mean survival time, numerically R ``survival`` 3.x.

Sources (R package survival, Therneau): ``survfit.formula`` / ``survfitKM`` (Greenwood variance of the
cumulative hazard, ``conf.type = "log"``), ``print.survfit`` -> ``survmean`` (median and its CI, restricted
mean and its SE), ``summary.survfit(times=)``, ``survdiff`` (G-rho test with rho = 0, i.e. the log-rank test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

_TOL = float(np.sqrt(np.finfo(float).eps))


def _as_arrays(time, event) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError("time and event must be 1-d arrays of the same length")
    if len(t) == 0:
        raise ValueError("no observations")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("time must be finite and >= 0")
    if not np.isin(e, [0.0, 1.0]).all():
        raise ValueError("event must be 0/1")
    return t, e.astype(int)


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """R ``survmean``'s ``minmin``: first time the curve is < 0.5 (+tol); on a flat segment at exactly 0.5 the
    midpoint between its start and the next time the curve drops."""
    keep = ~np.isnan(y) & (y < 0.5 + _TOL)
    if not keep.any():
        return np.nan
    x, y = x[keep], y[keep]
    if abs(y[0] - 0.5) < _TOL and (y < y[0]).any():
        return float((x[0] + x[np.argmax(y < y[0])]) / 2)
    return float(x[0])


@dataclass(frozen=True)
class KaplanMeier:
    """One Kaplan-Meier curve; ``table`` has one row per distinct time as R ``survfit``: ``time, n_risk, n_event,
    n_censor, surv, std_err`` (SE of the cumulative hazard, R's ``fit$std.err``), ``lower, upper``."""

    table: pd.DataFrame
    n: int
    conf_level: float = 0.95

    @property
    def events(self) -> int:
        return int(self.table["n_event"].sum())

    def median(self) -> tuple[float, float, float]:
        """(median, lower, upper) as R ``print(survfit)``; NaN when not reached."""
        tab = self.table
        x = tab["time"].to_numpy()
        return (
            _minmin(tab["surv"].to_numpy(), x),
            _minmin(tab["lower"].to_numpy(), x),
            _minmin(tab["upper"].to_numpy(), x),
        )

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """R ``summary(fit, times=)``: S(t) is the value at the last time <= t, ``std_err`` = S(t) x SE(cumhaz)
        (R's summary scale), ``n_risk`` the number at risk at t.

        Times after the last follow-up time depend on how the curve ended:

        * it reached 0 (its last time had deaths only): S(t) = 0 is known, ``n_risk`` 0 and ``std_err``, ``lower``,
          ``upper`` NaN, as R ``summary(fit, times=, extend = TRUE)`` (surv 0, std.err NaN, CI NA);
        * it ended with a censoring (S > 0): S(t) is unknown and the whole row is NaN except ``time``. R drops such
          times with the default ``extend = FALSE``; with ``extend = TRUE`` it carries the last value forward,
          which we do not, because nobody was observed there."""
        tab = self.table
        tt = tab["time"].to_numpy()
        ended_at_zero = float(tab["surv"].iloc[-1]) == 0.0
        rows = []
        for t in times:
            t = float(t)
            if t > tt[-1]:
                if ended_at_zero:
                    rows.append((t, 0, 0.0, np.nan, np.nan, np.nan))
                else:
                    rows.append((t, np.nan, np.nan, np.nan, np.nan, np.nan))
                continue
            i = int(np.searchsorted(tt, t, side="right")) - 1
            nrisk = int(tab["n_risk"].iloc[int(np.searchsorted(tt, t, side="left"))])
            if i < 0:
                rows.append((t, nrisk, 1.0, 0.0, 1.0, 1.0))
                continue
            s = float(tab["surv"].iloc[i])
            rows.append(
                (
                    t,
                    nrisk,
                    s,
                    s * float(tab["std_err"].iloc[i]),
                    float(tab["lower"].iloc[i]),
                    float(tab["upper"].iloc[i]),
                )
            )
        return pd.DataFrame(rows, columns=["time", "n_risk", "surv", "std_err", "lower", "upper"])

    def rmst(self, tau: float) -> tuple[float, float]:
        """Restricted mean survival time up to ``tau`` and its SE, R ``print(survfit, rmean=tau)`` (``survmean``):
        area = sum of rectangles under the step function; var = sum_i (area after t_i)^2 d_i / (n_i (n_i - d_i))
        over times t_i <= tau. (lifelines' ``restricted_mean_survival_time`` uses a different variance.)"""
        tab = self.table
        time = tab["time"].to_numpy()
        surv = tab["surv"].to_numpy()
        nr = tab["n_risk"].to_numpy(dtype=float)
        ne = tab["n_event"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(nr - ne == 0, 0.0, ne / (nr * (nr - ne)))
        keep = time <= tau
        start = min(0.0, float(time.min()))
        if not keep.any():
            temptime, tempsurv, hh = np.array([tau]), np.array([1.0]), np.array([0.0])
        else:
            temptime = np.append(time[keep], tau)
            tempsurv = np.append(surv[keep], surv[keep][-1])
            hh = np.append(hh[keep], 0.0)
        delta = np.diff(np.concatenate([[start], temptime]))
        rect = delta * np.concatenate([[1.0], tempsurv[:-1]])
        after = np.cumsum(rect[1:][::-1])  # area after t_i, i = n-1 .. 1
        var = float(np.sum(after**2 * hh[:-1][::-1]))
        return float(rect.sum() + start), float(np.sqrt(var))


def kaplan_meier(time, event, conf_level: float = 0.95) -> KaplanMeier:
    """Product-limit estimate with Greenwood SE and R's default log-transformed CI ``S exp(+-z se)``, upper
    clipped at 1, NA where S = 0 (R ``survfit(Surv(time, event) ~ 1)``, ``conf.type = "log"``)."""
    t, e = _as_arrays(time, event)
    ut, inv = np.unique(t, return_inverse=True)
    n_event = np.bincount(inv, weights=e, minlength=len(ut))
    n_total = np.bincount(inv, minlength=len(ut)).astype(float)
    n_risk = len(t) - np.concatenate([[0.0], np.cumsum(n_total)[:-1]])
    surv = np.cumprod(1 - n_event / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    se = np.sqrt(np.cumsum(inc))
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = surv > 0
        lower = np.where(pos, np.exp(np.log(np.where(pos, surv, 1.0)) - z * se), np.nan)
        upper = np.where(pos, np.minimum(1.0, np.exp(np.log(np.where(pos, surv, 1.0)) + z * se)), np.nan)
    lower = np.where(np.isfinite(se), lower, np.nan)
    upper = np.where(np.isfinite(se), upper, np.nan)
    table = pd.DataFrame(
        {
            "time": ut,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_total - n_event).astype(int),
            "surv": surv,
            "std_err": se,
            "lower": lower,
            "upper": upper,
        }
    )
    return KaplanMeier(table=table, n=len(t), conf_level=conf_level)


def kaplan_meier_by_group(time, event, group) -> dict:
    """One :class:`KaplanMeier` per group level (sorted, as R factor levels)."""
    t, e = _as_arrays(time, event)
    g = np.asarray(group)
    return {lv: kaplan_meier(t[g == lv], e[g == lv]) for lv in sorted(pd.unique(g).tolist())}


@dataclass(frozen=True)
class LogRank:
    """R ``survdiff`` output: per-group observed/expected, variance matrix, chi-square, df, p."""

    groups: list
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chisq: float
    df: int
    p: float

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "n_observed": self.observed,
                "n_expected": self.expected,
                "o_minus_e_sq_over_e": (self.observed - self.expected) ** 2 / self.expected,
            },
            index=self.groups,
        )


def logrank_test(time, event, group) -> LogRank:
    """k-sample log-rank test (R ``survdiff(Surv(time, event) ~ group)``, rho = 0).

    At each event time: E_g += n_g d / n, V += d (n - d) / (n - 1) (diag(n_g / n) - n_g n_h / n^2). The statistic
    is (O - E)' V^-1 (O - E) on all groups with E > 0 but the first, df = (number of such groups) - 1.
    """
    t, e = _as_arrays(time, event)
    g = np.asarray(group)
    if pd.isna(pd.Series(g)).any():
        raise ValueError("group has missing values")
    levels = sorted(pd.unique(g).tolist())
    k = len(levels)
    if k < 2:
        raise ValueError("log-rank test needs at least two groups")
    gi = pd.Categorical(g, categories=levels).codes
    ut, inv = np.unique(t, return_inverse=True)
    # counts per (time, group)
    tot = np.zeros((len(ut), k))
    dth = np.zeros((len(ut), k))
    np.add.at(tot, (inv, gi), 1.0)
    np.add.at(dth, (inv, gi), e)
    risk = tot[::-1].cumsum(axis=0)[::-1]  # n_g at risk at each time
    n = risk.sum(axis=1)
    d = dth.sum(axis=1)
    ev = d > 0
    risk, n, d = risk[ev], n[ev], d[ev]
    expected = (risk * (d / n)[:, None]).sum(axis=0)
    observed = dth.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    p_ = risk / n[:, None]
    var = np.einsum("t,tg->g", f, p_) * np.eye(k) - np.einsum("t,tg,th->gh", f, p_, p_)
    keep = np.flatnonzero(expected > 0)
    if len(keep) < 2:
        chisq, df = 0.0, 0
    else:
        idx = keep[1:]
        oe = (observed - expected)[idx]
        chisq = float(oe @ np.linalg.solve(var[np.ix_(idx, idx)], oe))
        df = len(keep) - 1
    p = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    return LogRank(groups=levels, observed=observed, expected=expected, variance=var, chisq=chisq, df=df, p=p)


def pairwise_logrank(time, event, group) -> pd.DataFrame:
    """Log-rank test on every pair of groups, each on that pair's subset (R: ``survdiff`` on ``subset``), no
    multiplicity adjustment. Columns ``group_a, group_b, chisq, df, p``."""
    t, e = _as_arrays(time, event)
    g = np.asarray(group)
    levels = sorted(pd.unique(g).tolist())
    rows = []
    for i, a in enumerate(levels):
        for b in levels[i + 1 :]:
            m = (g == a) | (g == b)
            r = logrank_test(t[m], e[m], g[m])
            rows.append((a, b, r.chisq, r.df, r.p))
    return pd.DataFrame(rows, columns=["group_a", "group_b", "chisq", "df", "p"])
