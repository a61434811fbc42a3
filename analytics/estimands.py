"""Between-arm estimands beyond the hazard ratio: RMST difference and ratio, survival difference at fixed times,
and the E-value of a hazard ratio.

Why: a hazard ratio summarises the whole follow-up in one number that is hard to read in days of life, and in an
externally controlled study it is only as good as the unmeasured confounding allows. The RMST contrast (Uno et al.
2014) and the survival difference at 1, 2 and 3 years give absolute, time-bounded effects; the E-value
(VanderWeele & Ding 2017) says how strong an unmeasured confounder would have to be to explain the HR away.

References (their formulas are written out again, independently, in ``tests/analytics/r/estimands_reference.R``
and compared at 1e-6):

* survRM2 ``rmst2`` (unadjusted; Uno H et al., J Clin Oncol 2014;32:2380-5): per-arm RMST and its Greenwood
  plug-in variance, difference ``est1 - est0 +- z sqrt(v1 + v0)``, ratio ``exp(log(r1/r0) +- z sqrt(v1/r1^2 +
  v0/r0^2))``. survRM2's per-arm variance (its ``rmst1``) is the same formula as R survival's ``survmean``
  (``print(survfit, rmean = tau)``, ``se(rmean)^2``): sum over KM times ``t_i <= tau`` of (area under the curve
  from ``t_i`` to ``tau``)^2 x ``d_i / (n_i (n_i - d_i))``. The R script computes both and records their largest
  gap: at most 1.4e-14 on lung and waltons (variances 0.04 to 1084), i.e. rounding; so
  :meth:`analytics.survival.KaplanMeier.rmst` is used as is.
* ``summary(survfit, times=)``: S(t) and its Greenwood SE on the survival scale (``std.err``).
* EValue ``evalues.HR`` (VanderWeele TJ, Ding P, Ann Intern Med 2017;167:268-74): E = RR + sqrt(RR (RR - 1)) with
  RR replaced by 1/RR when RR < 1; for a common outcome the HR is first converted to a risk ratio by
  ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` (VanderWeele 2020); E-value of the CI is that of the limit closer
  to 1, and 1 when the CI covers 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics.survival import KaplanMeier


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


@dataclass(frozen=True)
class RmstContrast:
    """RMST of arm 1 (treated) and arm 0 (control) up to ``tau``, their difference (days) and ratio, with CIs and
    two-sided Wald p-values, as survRM2 ``rmst2(...)$unadjusted.result`` (rows 1 and 2)."""

    tau: float
    rmst1: float
    se1: float
    rmst0: float
    se0: float
    difference: float
    difference_se: float
    difference_lower: float
    difference_upper: float
    difference_p: float
    ratio: float
    ratio_se_log: float
    ratio_lower: float
    ratio_upper: float
    ratio_p: float
    conf_level: float = 0.95


def _check_tau(km1: KaplanMeier, km0: KaplanMeier, tau: float) -> None:
    """survRM2's admissible tau: not beyond the later of the two last times, and not beyond the last time of an arm
    whose curve ended with a censoring (S > 0 there: the area after it is unknown). An arm that ended at S = 0
    contributes a known zero area afterwards."""
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError("tau must be a positive number")
    last = {}
    for name, km in (("arm 1", km1), ("arm 0", km0)):
        last[name] = float(km.table["time"].iloc[-1])
        if float(km.table["surv"].iloc[-1]) > 0 and tau > last[name]:
            raise ValueError(
                f"tau = {tau:g} is after the last follow-up of {name} ({last[name]:g}), whose curve ended with a "
                "censoring: its RMST is not estimable there (survRM2 refuses it too)"
            )
    if tau > max(last.values()):
        raise ValueError(f"tau = {tau:g} is after the last follow-up of both arms ({max(last.values()):g})")


def rmst_contrast(km1: KaplanMeier, km0: KaplanMeier, tau: float, conf_level: float = 0.95) -> RmstContrast:
    """RMST difference (arm 1 - arm 0) and ratio (arm 1 / arm 0) at ``tau`` with ``conf_level`` CIs, as survRM2
    ``rmst2(time, status, arm, tau)`` (unadjusted).

    Each arm's RMST and SE come from :meth:`KaplanMeier.rmst` (R ``survmean``); survRM2's variance is the same
    Greenwood plug-in (see the module docstring). The difference is on the natural scale, the ratio on the log
    scale (delta method: var(log r) = var(r) / r^2). ``tau`` must be admissible as in survRM2 (ValueError
    otherwise): within both arms' follow-up unless an arm's curve ended at 0.
    """
    _check_tau(km1, km0, tau)
    z = _z(conf_level)
    r1, s1 = km1.rmst(tau)
    r0, s0 = km0.rmst(tau)
    diff = r1 - r0
    se_d = math.sqrt(s1**2 + s0**2)
    log_r = math.log(r1 / r0)
    se_r = math.sqrt(s1**2 / r1**2 + s0**2 / r0**2)

    def p_of(est: float, se: float) -> float:
        return float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else math.nan

    return RmstContrast(
        tau=float(tau),
        rmst1=r1,
        se1=s1,
        rmst0=r0,
        se0=s0,
        difference=diff,
        difference_se=se_d,
        difference_lower=diff - z * se_d,
        difference_upper=diff + z * se_d,
        difference_p=p_of(diff, se_d),
        ratio=math.exp(log_r),
        ratio_se_log=se_r,
        ratio_lower=math.exp(log_r - z * se_r),
        ratio_upper=math.exp(log_r + z * se_r),
        ratio_p=p_of(log_r, se_r),
        conf_level=conf_level,
    )


def survival_difference(
    km1: KaplanMeier, km0: KaplanMeier, times: Sequence[float], conf_level: float = 0.95
) -> pd.DataFrame:
    """S1(t) - S0(t) at each of ``times`` with the Wald CI ``+- z sqrt(se1^2 + se0^2)`` (the two arms independent),
    each ``se`` the Greenwood SE of R ``summary(survfit, times=)$std.err``.

    After the end of an arm's curve :meth:`KaplanMeier.survival_at` decides: a curve that reached 0 stays 0 (the
    difference is then reported), but its SE is undefined (R: NaN; Greenwood's S^2 x sum d/(n(n-d)) is 0 x inf), so
    the SE and CI of the difference are NaN rather than an invented zero variance; a curve that ended with a
    censoring is unknown afterwards, so the difference itself is NaN. The same holds at the very time a curve drops
    to 0 (R's std.err is NaN there too).

    Returns columns ``time, surv1, se1, surv0, se0, difference, se, lower, upper``.
    """
    z = _z(conf_level)
    a1 = km1.survival_at(times)
    a0 = km0.survival_at(times)
    out = pd.DataFrame(
        {
            "time": a1["time"].astype(float),
            "surv1": a1["surv"].astype(float),
            "se1": a1["std_err"].astype(float),
            "surv0": a0["surv"].astype(float),
            "se0": a0["std_err"].astype(float),
        }
    )
    out["difference"] = out["surv1"] - out["surv0"]
    out["se"] = np.sqrt(out["se1"] ** 2 + out["se0"] ** 2)
    out["lower"] = out["difference"] - z * out["se"]
    out["upper"] = out["difference"] + z * out["se"]
    return out


def hr_to_rr(hr: float, rare: bool) -> float:
    """Hazard ratio on the risk-ratio scale as EValue ``evalues.HR``: unchanged for a rare outcome (< 15 % by the
    end of follow-up); otherwise ``(1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))`` (VanderWeele 2020), which pulls the
    HR towards 1."""
    hr = float(hr)
    if not (hr > 0 and np.isfinite(hr)):
        raise ValueError("a hazard ratio must be positive and finite")
    if rare:
        return hr
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def _e_of_rr(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


@dataclass(frozen=True)
class EValue:
    """E-values of a hazard ratio: ``point`` for the estimate, ``ci`` for the CI limit closer to 1 (1 when the CI
    covers 1); ``rr*`` the risk ratios they were computed from (equal to the HRs when ``rare``)."""

    hr: float
    lower: float
    upper: float
    rare: bool
    rr: float
    rr_lower: float
    rr_upper: float
    point: float
    ci: float


def e_value(hr: float, lower: float = math.nan, upper: float = math.nan, *, rare: bool = False) -> EValue:
    """E-value of a hazard ratio and of its confidence interval (VanderWeele & Ding 2017; EValue ``evalues.HR``).

    The E-value is the minimum strength of association, on the risk-ratio scale, that an unmeasured confounder
    would need with both treatment and outcome (beyond the measured covariates) to move the estimate (or the CI)
    to 1. A protective estimate (RR < 1) uses 1/RR. The CI's E-value is computed from the limit closer to 1 and is
    1 when the interval covers 1; NaN when no interval is given.

    ``rare``: whether the outcome is rare (< 15 % by the end of follow-up), in which case HR ~ RR. This study's
    outcome is death in ALS, a disease fatal within a few years of onset, so over a multi-year follow-up far more
    than 15 % of either arm die (153 of 240 in the committed matched test cohort). The study therefore uses
    ``rare=False`` (the default): the HR is converted by :func:`hr_to_rr` before the E-value is taken;
    ``rare=True`` would overstate the E-value.
    """
    rr = hr_to_rr(hr, rare)
    has_ci = not (math.isnan(lower) or math.isnan(upper))
    if has_ci and not lower <= hr <= upper:
        raise ValueError("the hazard ratio must lie within its confidence interval")
    rl = hr_to_rr(lower, rare) if has_ci else math.nan
    ru = hr_to_rr(upper, rare) if has_ci else math.nan
    if not has_ci:
        ci = math.nan
    elif rr > 1:
        ci = 1.0 if rl <= 1 else _e_of_rr(rl)
    elif rr < 1:
        ci = 1.0 if ru >= 1 else _e_of_rr(ru)
    else:
        ci = 1.0
    return EValue(
        hr=float(hr),
        lower=float(lower),
        upper=float(upper),
        rare=rare,
        rr=rr,
        rr_lower=rl,
        rr_upper=ru,
        point=_e_of_rr(rr),
        ci=ci,
    )
