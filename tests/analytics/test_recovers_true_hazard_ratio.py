"""Simulation check: on data drawn from the generator's own survival model (synthetic.disease; Weibull PH with
treatment HR `TRUE_TREATMENT_HR`), confounded treatment assignment and independent censoring, the matched
analysis's Cox estimate recovers the true hazard ratio: its 95 % CI covers it in (nearly) every replicate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.study import run_matched_analysis
from synthetic import calibration as cal
from synthetic.disease import death_days, linear_predictor


def _simulate(seed: int, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(56, 11, n), 18, 88)
    male = rng.uniform(size=n) < 0.6
    bulbar = rng.uniform(size=n) < cal.BULBAR_FRACTION
    riluzole = rng.uniform(size=n) < cal.RILUZOLE_FRACTION
    baseline = np.clip(rng.normal(38, 5, n), 10, 48).round()
    duration = rng.uniform(3, 24, n)
    # Treatment depends on the covariates (younger, fitter, earlier patients are treated more often).
    logit = -2.2 - 0.03 * (age - 56) + 0.08 * (baseline - 38) - 0.05 * (duration - 12) + 0.3 * male
    treated = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    # Progression speed fixed at the median: it is not a covariate of the paper's Cox model, and an omitted
    # prognostic factor would (correctly) attenuate the marginal hazard ratio.
    lp = linear_predictor(np.full(n, cal.SLOPE_MEDIAN), age, bulbar, riluzole, treated)
    death = death_days(rng, lp)
    censor = rng.uniform(200, 1500, n)
    return pd.DataFrame({
        "subject_id": [f"s{i}" for i in range(n)],
        "treated": treated.astype(int),
        "group": np.where(treated, "single", "control"),
        "time_days": np.minimum(death, censor).round(),
        "event": (death <= censor).astype(int),
        "age": age.round(),
        "sex": np.where(male, "M", "F"),
        "onset_site": np.where(bulbar, "bulbar", "limb"),
        "alsfrs_r_baseline": baseline,
        "riluzole": riluzole.astype(int),
        "disease_duration_months": duration,
    })


@pytest.mark.slow
def test_the_matched_cox_estimate_covers_the_true_hazard_ratio():
    covered, estimates = 0, []
    for seed in range(10):
        result = run_matched_analysis(_simulate(seed))
        hr, lower, upper = result.cox.summary(robust=False).loc["group_single", ["hr", "lower", "upper"]]
        estimates.append(hr)
        covered += lower <= cal.TRUE_TREATMENT_HR <= upper
    assert covered >= 8, (covered, estimates)  # nominal 95 %: 8 of 10 allows for chance
    assert abs(np.exp(np.mean(np.log(estimates))) - cal.TRUE_TREATMENT_HR) < 0.05
