"""Propensity score: unpenalised logistic regression, numerically R's ``glm(treated ~ ..., binomial)``.

The maximum-likelihood estimate is found by Newton-Raphson on the binomial log-likelihood (for the canonical
logit link this is exactly the IRLS of R's ``glm.fit``, McCullagh & Nelder 1989, sec. 4.4), iterated to a much
tighter tolerance than R's default (``epsilon = 1e-8`` on the deviance) so both land on the same MLE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: The paper's propensity model (Nam et al. 2023): age, sex, onset site, baseline ALSFRS-R, riluzole, duration.
PS_COVARIATES: tuple[str, ...] = (
    "age",
    "sex_male",
    "onset_bulbar",
    "alsfrs_r_baseline",
    "riluzole",
    "disease_duration_months",
)


def design_covariates(cohort: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Numeric covariate frame of the PS model: ``sex`` M/F -> ``sex_male``, ``onset_site`` -> ``onset_bulbar``.

    Raises ``ValueError`` naming the column when a value is missing or not one of the allowed codes.
    """
    out = pd.DataFrame(index=cohort.index)
    for col in (
        "age",
        "alsfrs_r_baseline",
        "riluzole",
        "disease_duration_months",
        "sex",
        "onset_site",
        *extra,
    ):
        if col not in cohort.columns:
            raise ValueError(f"cohort is missing required column {col!r}")
        if cohort[col].isna().any():
            raise ValueError(f"column {col!r} has {int(cohort[col].isna().sum())} missing value(s)")
    sex = cohort["sex"].astype(str).str.upper()
    if not sex.isin(["M", "F"]).all():
        raise ValueError(f"column 'sex' must be 'M' or 'F', found {sorted(set(sex) - {'M', 'F'})}")
    onset = cohort["onset_site"].astype(str).str.lower()
    if not onset.isin(["bulbar", "limb"]).all():
        raise ValueError(
            f"column 'onset_site' must be 'bulbar' or 'limb', found {sorted(set(onset) - {'bulbar', 'limb'})}"
        )
    out["age"] = pd.to_numeric(cohort["age"], errors="raise").astype(float)
    out["sex_male"] = (sex == "M").astype(float)
    out["onset_bulbar"] = (onset == "bulbar").astype(float)
    out["alsfrs_r_baseline"] = pd.to_numeric(cohort["alsfrs_r_baseline"], errors="raise").astype(float)
    ril = pd.to_numeric(cohort["riluzole"], errors="raise").astype(float)
    if not ril.isin([0.0, 1.0]).all():
        raise ValueError("column 'riluzole' must be 0/1")
    out["riluzole"] = ril
    out["disease_duration_months"] = pd.to_numeric(cohort["disease_duration_months"], errors="raise").astype(
        float
    )
    for col in extra:
        out[col] = pd.to_numeric(cohort[col], errors="raise").astype(float)
    return out


@dataclass(frozen=True)
class LogisticFit:
    """Result of :func:`fit_logistic`; ``coef``/``se``/``z``/``p`` are indexed ``intercept`` then the covariates."""

    coef: pd.Series
    se: pd.Series
    z: pd.Series
    p: pd.Series
    deviance: float
    null_deviance: float
    iterations: int
    fitted: np.ndarray  # P(treated | x), R's fitted(glm)

    def summary(self) -> pd.DataFrame:
        """R ``summary(glm)$coefficients`` layout."""
        return pd.DataFrame({"estimate": self.coef, "std_error": self.se, "z": self.z, "p": self.p})


def fit_logistic(
    x: pd.DataFrame, y: Sequence[float] | np.ndarray, tol: float = 1e-10, max_iter: int = 100
) -> LogisticFit:
    """Maximum-likelihood logistic regression with an intercept (R ``glm(y ~ x, family=binomial)``).

    Newton-Raphson: beta <- beta + (X'WX)^-1 X'(y - mu), W = mu(1-mu); stops when the largest step is below
    ``tol`` x (1 + |beta|) (quadratic convergence: the
    returned beta is then exact to ~tol^2). Standard errors are sqrt(diag((X'WX)^-1)) at the MLE, Wald z and normal p as R.
    """
    y = np.asarray(y, dtype=float)
    if not np.isin(y, [0.0, 1.0]).all():
        raise ValueError("outcome must be 0/1")
    xm = np.column_stack([np.ones(len(x)), x.to_numpy(dtype=float)])
    if not np.isfinite(xm).all():
        raise ValueError("covariates contain non-finite values")
    if np.linalg.matrix_rank(xm) < xm.shape[1]:
        raise ValueError("design matrix is rank deficient (a covariate is constant or collinear)")
    names = ["intercept", *x.columns]
    # R's glm.fit starting values: mu = (y + 0.5) / 2, eta = logit(mu); one IRLS step from there.
    mu = (y + 0.5) / 2.0
    eta = np.log(mu / (1 - mu))
    w = mu * (1 - mu)
    z = eta + (y - mu) / w
    beta = np.linalg.solve(xm.T @ (w[:, None] * xm), xm.T @ (w * z))
    it = 1
    for it in range(2, max_iter + 1):  # noqa: B007
        eta = xm @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = mu * (1 - mu)
        step = np.linalg.solve(xm.T @ (w[:, None] * xm), xm.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step) / (1.0 + np.abs(beta))) < tol:
            break
    else:
        raise RuntimeError("logistic regression did not converge (complete separation?)")
    eta = xm @ beta
    mu = 1.0 / (1.0 + np.exp(-eta))
    w = mu * (1 - mu)
    cov = np.linalg.inv(xm.T @ (w[:, None] * xm))
    se = np.sqrt(np.diag(cov))
    zval = beta / se
    p = 2 * stats.norm.sf(np.abs(zval))

    def dev(m: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(y == 1, np.log(m), np.log(1 - m))
        return float(-2 * np.sum(t))

    ybar = np.full_like(y, y.mean())
    return LogisticFit(
        coef=pd.Series(beta, index=names),
        se=pd.Series(se, index=names),
        z=pd.Series(zval, index=names),
        p=pd.Series(p, index=names),
        deviance=dev(mu),
        null_deviance=dev(ybar),
        iterations=it,
        fitted=mu,
    )


def propensity_score(
    cohort: pd.DataFrame, treatment: str = "treated", extra_covariates: Sequence[str] = (),
    covariates: Sequence[str] = PS_COVARIATES,
) -> tuple[LogisticFit, np.ndarray]:
    """Fit the PS model on ``covariates`` (the paper's by default; names of ``PS_COVARIATES``) plus
    ``extra_covariates`` and return (fit, scores on the probability scale).

    MatchIt 4.x ``distance = "glm"`` uses the fitted probability itself (not the logit) as the distance.
    """
    unknown = [c for c in covariates if c not in PS_COVARIATES]
    if unknown or not covariates:
        raise ValueError(f"unknown propensity covariate(s) {unknown}: one or more of {', '.join(PS_COVARIATES)}")
    x = design_covariates(cohort, extra_covariates)
    x = x[[c for c in x.columns if c in covariates or c in extra_covariates]]
    fit = fit_logistic(x, cohort[treatment].astype(float).to_numpy())
    return fit, fit.fitted
