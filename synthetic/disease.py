"""The simulated disease course shared by both sources: ALSFRS-R trajectories, items and survival."""

from __future__ import annotations

import numpy as np

from synthetic import calibration as cal

DAYS_PER_MONTH = 30.4375

# How the functional loss spreads over the 12 ALSFRS-R items, by onset site (bulbar items 1-3 first for bulbar
# onset, limb items 4-9 first for limb onset; respiratory items 10-12 late for both).
_ITEM_WEIGHTS = {
    "bulbar": np.array([3.0, 2.5, 3.0, 0.7, 0.8, 0.7, 0.6, 0.5, 0.7, 0.6, 0.4, 0.2]),
    "limb": np.array([0.5, 0.4, 0.5, 1.6, 1.7, 1.6, 1.3, 1.6, 1.8, 0.6, 0.4, 0.2]),
}


def lognormal_from_median_mean(rng: np.random.Generator, median: float, mean: float, size: int) -> np.ndarray:
    """Log-normal draws with the given median and mean (mean/median = exp(sigma^2 / 2))."""
    sigma = np.sqrt(2 * np.log(mean / median))
    return median * np.exp(sigma * rng.standard_normal(size))


def alsfrs_r_items(total_deficit: np.ndarray, bulbar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer items 0-4 (n x 12) whose deficits (4 - item) add up to about `total_deficit` (0-48).

    The deficit is spread by onset-site weights and capped at 4 per item; overflow is re-spread over the items
    that still have room (three passes are enough for any total in 0-48).
    """
    weights = np.where(bulbar[:, None], _ITEM_WEIGHTS["bulbar"], _ITEM_WEIGHTS["limb"])
    weights = weights * rng.uniform(0.7, 1.3, size=weights.shape)
    remaining = np.clip(total_deficit, 0, 48).astype(float)
    deficit = np.zeros_like(weights)
    for _ in range(4):
        room = 4 - deficit
        w = np.where(room > 1e-9, weights, 0.0)
        share = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        add = np.minimum(share * remaining[:, None], room)
        deficit += add
        remaining = remaining - add.sum(axis=1)
    return np.clip(4 - np.rint(deficit), 0, 4).astype(int)


def linear_predictor(slope, age, bulbar, riluzole, treated, true_hr: float = cal.TRUE_TREATMENT_HR) -> np.ndarray:
    """Log relative hazard of the survival model (see calibration.py for the coefficients); `true_hr` is the
    conditional hazard ratio of treatment (the simulation audit varies it)."""
    return (
        cal.SLOPE_LOG_HR * np.log(slope / cal.SLOPE_MEDIAN)
        + cal.AGE_LOG_HR_PER_10Y * (age - 56.0) / 10.0
        + cal.BULBAR_LOG_HR * bulbar
        + cal.RILUZOLE_LOG_HR * riluzole
        + np.log(true_hr) * treated
    )


def death_days(rng: np.random.Generator, lp: np.ndarray) -> np.ndarray:
    """Days from index to death under the Weibull proportional-hazards model (inverse transform)."""
    u = rng.uniform(size=lp.shape)
    return cal.WEIBULL_SCALE_DAYS * (-np.log(u) * np.exp(-lp)) ** (1 / cal.WEIBULL_SHAPE)


def expected_total(baseline: np.ndarray, slope: np.ndarray, day: np.ndarray) -> np.ndarray:
    """ALSFRS-R total expected `day` days after index: linear decline at `slope` points/month, floor 0."""
    return np.clip(baseline - slope * day / DAYS_PER_MONTH, 0, 48)
