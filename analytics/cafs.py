"""Combined assessment of function and survival (CAFS) and its rank test.

CAFS (Berry et al. 2013, Amyotroph Lateral Scler Frontotemporal Degener 14:162-168) applies the
Finkelstein-Schoenfeld (FS) pairwise comparison (Finkelstein & Schoenfeld 1999, Stat Med 18:1341-1354) to ALS:
every patient is compared with every other patient, whatever their arm.

Pair (i, j), horizon H (default 365 days = 12 months):

1. **Survival first**, over the pair's common follow-up ``T = min(time_i, time_j, H)``. A patient "died by T"
   when ``event = 1`` and ``time <= T``. If exactly one of the two died by T, that one is worse. If both did,
   both died on day T (T is the smaller of their times) - equal death days - and the pair is a tie.
2. **Function only if neither died by T** (both alive at the common time): the ALSFRS-R change from baseline
   at 12 months; the larger (less negative) change is better, equal changes are a tie.

Missing data: a missing change (NaN; e.g. no visit in the 12-month window, or died before it) makes a pair
that reaches step 2 a tie; it never affects a pair decided by survival. A patient censored before H is compared
on survival only up to their own follow-up: against anyone alive at that time the pair goes to function.

Each patient's score is ``u_i = #(patients i beats) - #(patients i loses to)``; the scores sum to 0.

FS test: ``S = sum of u_i over the treated arm``. Under random permutation of the arm labels E[S] = 0 and
``V = n1 n0 / (N (N - 1)) * sum(u_i^2)`` (sampling n1 of N values with mean 0 without replacement);
``z = S / sqrt(V)``, two-sided normal p.

Also reported: the Wilcoxon rank-sum (Mann-Whitney) test on the scores, as R's
``wilcox.test(u ~ arm, exact = FALSE, correct = TRUE)`` (normal approximation, ties correction, continuity
correction) with the treated arm as the first group, so ``W`` = treated-arm U; and, over the n1 * n0
treated-control pairs only, the wins of each arm, the probability index ``P(treated better) + 0.5 P(tie)`` and
the win ratio ``treated wins / control wins`` (Pocock et al. 2012; inf when control never wins).

R reference: tests/analytics/r/cafs_reference.R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

HORIZON_DAYS = 365.0


@dataclass(frozen=True)
class CafsResult:
    """CAFS scores summarised by arm, the FS and Wilcoxon tests on them, and the treated-vs-control pairs."""

    n_treated: int
    n_control: int
    horizon_days: float
    mean_score_treated: float
    mean_score_control: float
    fs_statistic: float  # S, sum of the treated scores
    fs_variance: float
    fs_z: float
    fs_p: float
    wilcoxon_w: float  # Mann-Whitney U of the treated scores (R's W with the treated arm first)
    wilcoxon_p: float
    wins_treated: int  # treated-control pairs the treated patient wins
    wins_control: int
    ties: int
    win_probability: float
    win_ratio: float
    n_pairs_survival: int  # unordered pairs (all patients) decided by survival
    n_pairs_function: int  # unordered pairs compared on the ALSFRS-R change (both alive, both changes known)
    n_change_missing: int  # patients without a 12-month change


def _validate(time, event, change, horizon, **more):
    """The arrays as float / bool; ValueError naming what is wrong."""
    arrays = {"time": time, "event": event, "change": change, **more}
    arrays = {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    if any(a.ndim != 1 for a in arrays.values()):
        raise ValueError(f"{', '.join(arrays)} must be one-dimensional")
    if len({len(a) for a in arrays.values()}) > 1:
        lengths = ", ".join(f"{k} {len(a)}" for k, a in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must have equal lengths (got {lengths})")
    t, e, c = arrays["time"], arrays["event"], arrays["change"]
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("time must be finite and >= 0")
    if not np.isin(e, (0, 1)).all():
        raise ValueError("event must be 0 (censored) or 1 (died)")
    if np.isinf(c).any():
        raise ValueError("change must be finite or NaN (missing)")
    if not (np.isfinite(horizon) and horizon > 0):
        raise ValueError("horizon must be a positive number of days")
    if "treated" in arrays:
        g = arrays["treated"]
        if not np.isin(g, (0, 1)).all():
            raise ValueError("treated must be 0 or 1")
        if g.sum() == 0 or g.sum() == len(g):
            raise ValueError(f"both arms need at least one patient (treated {int(g.sum())} of {len(g)})")
    return t, e.astype(bool), c


def _pairwise(t, died, c, horizon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N x N matrix W[i, j] = +1 if i is better than j, -1 if worse, 0 tie; plus the survival-decided and
    function-compared masks."""
    common = np.minimum(np.minimum.outer(t, t), horizon)
    died_i = died[:, None] & (t[:, None] <= common)
    died_j = died[None, :] & (t[None, :] <= common)
    # both died by the common time only if both died on that very day: a tie, so the difference does it
    by_survival = died_j.astype(int) - died_i.astype(int)
    known = ~np.isnan(c)
    by_function = ~died_i & ~died_j & known[:, None] & known[None, :]
    with np.errstate(invalid="ignore"):  # NaN - NaN outside by_function
        function = np.sign(np.subtract.outer(c, c))
    w = np.where(died_i | died_j, by_survival, np.where(by_function, function, 0.0)).astype(int)
    return w, (died_i ^ died_j), by_function


def cafs_scores(time, event, change, horizon: float = HORIZON_DAYS) -> np.ndarray:
    """Each patient's CAFS score: patients beaten minus patients lost to (see the module docstring)."""
    t, died, c = _validate(time, event, change, horizon)
    return _pairwise(t, died, c, horizon)[0].sum(axis=1)


def cafs_test(time, event, change, treated, horizon: float = HORIZON_DAYS) -> CafsResult:
    """CAFS scores and the Finkelstein-Schoenfeld test of treated vs control (see the module docstring).

    ``time``: days to death or censoring; ``event``: 1 = died; ``change``: ALSFRS-R change baseline -> 12
    months (NaN = missing); ``treated``: 1 = treated arm.
    """
    t, died, c = _validate(time, event, change, horizon, treated=treated)
    g = np.asarray(treated, dtype=float) == 1
    w, by_survival, by_function = _pairwise(t, died, c, horizon)
    u = w.sum(axis=1).astype(float)
    n1, n0 = int(g.sum()), int((~g).sum())
    n = n1 + n0

    s = u[g].sum()
    v = n1 * n0 / (n * (n - 1)) * (u**2).sum()
    z = s / np.sqrt(v) if v > 0 else np.nan  # v = 0: every pair tied, no information
    mw = stats.mannwhitneyu(u[g], u[~g], use_continuity=True, alternative="two-sided", method="asymptotic")

    tc = w[np.ix_(g, ~g)]  # treated rows vs control columns
    wins_t, wins_c = int((tc > 0).sum()), int((tc < 0).sum())
    ties = n1 * n0 - wins_t - wins_c
    ratio = wins_t / wins_c if wins_c else (np.inf if wins_t else np.nan)

    upper = np.triu(np.ones((n, n), dtype=bool), k=1)  # each unordered pair once
    return CafsResult(
        n_treated=n1,
        n_control=n0,
        horizon_days=float(horizon),
        mean_score_treated=float(u[g].mean()),
        mean_score_control=float(u[~g].mean()),
        fs_statistic=float(s),
        fs_variance=float(v),
        fs_z=float(z),
        fs_p=float(2 * stats.norm.sf(abs(z))),
        wilcoxon_w=float(mw.statistic),
        wilcoxon_p=float(mw.pvalue),
        wins_treated=wins_t,
        wins_control=wins_c,
        ties=int(ties),
        win_probability=float((wins_t + 0.5 * ties) / (n1 * n0)),
        win_ratio=float(ratio),
        n_pairs_survival=int((by_survival & upper).sum()),
        n_pairs_function=int((by_function & upper).sum()),
        n_change_missing=int(np.isnan(c).sum()),
    )
