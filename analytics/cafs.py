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


def _left_counts(x, y, qx, qy) -> tuple[np.ndarray, np.ndarray]:
    """For each query (qx, qy): how many points (x, y) lie strictly left of qx with y below qy, and how many with
    y above qy. A sweep over x with a Fenwick tree over the ranks of y: O((points + queries) log points) time,
    O(points + queries) memory."""
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    levels = np.unique(y)
    rank = np.searchsorted(levels, y) + 1  # 1-based Fenwick positions
    q_below = np.searchsorted(levels, qy, side="left")  # levels < qy
    q_not_above = np.searchsorted(levels, qy, side="right")  # levels <= qy
    n_left = np.searchsorted(x, qx, side="left")  # the points with x < qx are a prefix of the sorted ones
    below = np.zeros(len(qx), dtype=np.int64)
    not_above = np.zeros(len(qx), dtype=np.int64)
    tree = np.zeros(len(levels) + 1, dtype=np.int64)
    inserted = 0
    for k in np.argsort(n_left, kind="stable"):
        while inserted < n_left[k]:  # each point enters the tree once
            i = int(rank[inserted])
            while i < len(tree):
                tree[i] += 1
                i += i & -i
            inserted += 1
        below[k] = _prefix(tree, int(q_below[k]))
        not_above[k] = _prefix(tree, int(q_not_above[k]))
    return below, n_left - not_above


def _prefix(tree: np.ndarray, i: int) -> int:
    total = 0
    while i > 0:
        total += tree[i]
        i -= i & -i
    return int(total)


@dataclass(frozen=True)
class _Tally:
    """Per patient i, against a set J of opponents: the pairs i wins and loses, by survival and by function."""

    wins: np.ndarray
    losses: np.ndarray
    survival_losses: np.ndarray  # pairs decided by survival that i loses (each such pair has one loser)
    function_pairs: np.ndarray  # opponents compared with i on function (i itself included when i is in J)


def _tally(t, died, c, horizon, opponents: np.ndarray) -> _Tally:
    """Every patient against every opponent in the mask ``opponents``, without forming the pairs.

    With ``d`` = died within the horizon, i "died by T" in pair (i, j) exactly when d_i and t_i <= t_j (T is
    the smaller follow-up, capped at H). So by survival i loses to every j with t_j > t_i, and to every j with
    t_j = t_i that is not d (same day, only i died); i wins against every d j with t_j < t_i, and against d j
    with t_j = t_i when i is not d. Neither died by T (the pair goes to function) when: i not d and
    (j not d or t_j > t_i); or i d, j not d and t_j < t_i. These are counts over sorted times and, for
    function, two-dimensional counts (time, change) answered by ``_left_counts``.
    """
    d = died & (t <= horizon)
    known = ~np.isnan(c)
    n = len(t)

    t_all = np.sort(t[opponents])
    t_d = np.sort(t[opponents & d])
    t_alive = np.sort(t[opponents & ~d])
    later = len(t_all) - np.searchsorted(t_all, t, side="right")
    d_before = np.searchsorted(t_d, t, side="left")
    d_same = np.searchsorted(t_d, t, side="right") - d_before
    alive_same = np.searchsorted(t_alive, t, side="right") - np.searchsorted(t_alive, t, side="left")
    survival_losses = np.where(d, later + alive_same, 0)
    survival_wins = d_before + np.where(d, 0, d_same)

    # function: opponents with a known change, split by d; queries only for patients with a known change
    alive_k = opponents & ~d & known
    dead_k = opponents & d & known
    cq = np.where(known, c, 0.0)
    wins = np.zeros(n, dtype=np.int64)
    losses = np.zeros(n, dtype=np.int64)
    pairs = np.zeros(n, dtype=np.int64)

    def add(mask, counts_below, counts_above, compared):
        wins[mask] += counts_below[mask]
        losses[mask] += counts_above[mask]
        pairs[mask] += compared[mask]  # equal changes included: a tie, still compared on function

    ask_alive = known & ~d
    ask_dead = known & d
    # i not d: every alive opponent, whatever its time
    c_alive = np.sort(c[alive_k])
    below = np.searchsorted(c_alive, cq, side="left")
    above = len(c_alive) - np.searchsorted(c_alive, cq, side="right")
    add(ask_alive, below, above, np.full(n, len(c_alive)))
    # i not d: d opponents that died later than t_i (x = -t turns "t_j > t_i" into "x_j < x_i")
    below, above = _left_counts(-t[dead_k], c[dead_k], -t, cq)
    add(ask_alive, below, above, int(dead_k.sum()) - np.searchsorted(np.sort(t[dead_k]), t, side="right"))
    # i d: alive opponents followed for less than t_i
    below, above = _left_counts(t[alive_k], c[alive_k], t, cq)
    add(ask_dead, below, above, np.searchsorted(np.sort(t[alive_k]), t, side="left"))

    return _Tally(survival_wins + wins, survival_losses + losses, survival_losses, pairs)


def cafs_scores(time, event, change, horizon: float = HORIZON_DAYS) -> np.ndarray:
    """Each patient's CAFS score: patients beaten minus patients lost to (see the module docstring)."""
    t, died, c = _validate(time, event, change, horizon)
    everyone = _tally(t, died, c, horizon, np.ones(len(t), dtype=bool))
    return everyone.wins - everyone.losses


def cafs_test(time, event, change, treated, horizon: float = HORIZON_DAYS) -> CafsResult:
    """CAFS scores and the Finkelstein-Schoenfeld test of treated vs control (see the module docstring).

    ``time``: days to death or censoring; ``event``: 1 = died; ``change``: ALSFRS-R change baseline -> 12
    months (NaN = missing); ``treated``: 1 = treated arm.

    No pair is formed: time and memory grow as N log N (``_tally``), so a 100x cohort costs what a sort does.
    """
    t, died, c = _validate(time, event, change, horizon, treated=treated)
    g = np.asarray(treated, dtype=float) == 1
    everyone = _tally(t, died, c, horizon, np.ones(len(t), dtype=bool))
    u = (everyone.wins - everyone.losses).astype(float)
    n1, n0 = int(g.sum()), int((~g).sum())
    n = n1 + n0

    s = u[g].sum()
    v = n1 * n0 / (n * (n - 1)) * (u**2).sum()
    z = s / np.sqrt(v) if v > 0 else np.nan  # v = 0: every pair tied, no information
    mw = stats.mannwhitneyu(u[g], u[~g], use_continuity=True, alternative="two-sided", method="asymptotic")

    vs_control = _tally(t, died, c, horizon, ~g)  # treated rows of it: the treated-control pairs
    wins_t, wins_c = int(vs_control.wins[g].sum()), int(vs_control.losses[g].sum())
    ties = n1 * n0 - wins_t - wins_c
    ratio = wins_t / wins_c if wins_c else (np.inf if wins_t else np.nan)

    # each unordered pair once: a survival-decided pair has one loser; a function pair is counted from both
    # ends, and a patient with a known change who is alive at the horizon counts itself once
    self_compared = int((~np.isnan(c) & ~(died & (t <= horizon))).sum())
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
        n_pairs_survival=int(everyone.survival_losses.sum()),
        n_pairs_function=(int(everyone.function_pairs.sum()) - self_compared) // 2,
        n_change_missing=int(np.isnan(c).sum()),
    )
