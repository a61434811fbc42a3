"""CAFS (combined assessment of function and survival) and the Finkelstein-Schoenfeld test against an independent
R implementation (tests/analytics/r/cafs_reference.R: pairwise loops, R's wilcox.test) on a hand-checked toy set
(data/cafs_toy.csv) and a synthetic 200-patient cohort (data/cafs_cohort.csv); and the validation of the inputs."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from analytics_ref import close, load_data

from analytics.cafs import cafs_scores, cafs_test

CASES = {
    "toy": ("cafs_toy.csv", 365.0),
    "cohort": ("cafs_cohort.csv", 365.0),
    "cohort_180": ("cafs_cohort.csv", 180.0),
}


def _arrays(d):
    return d.time_days.to_numpy(float), d.event.to_numpy(int), d.alsfrs_change_12m.to_numpy(float)


@pytest.fixture(scope="module")
def toy():
    return load_data("cafs_toy.csv").set_index("subject_id")


@pytest.mark.parametrize("case", CASES)
def test_matches_r_reference(case, cafs_ref):
    ref = cafs_ref[case]
    name, horizon = CASES[case]
    d = load_data(name)
    assert list(d.subject_id) == ref["subject_id"]
    np.testing.assert_array_equal(cafs_scores(*_arrays(d), horizon=horizon), ref["scores"])
    r = asdict(cafs_test(*_arrays(d), d.treated.to_numpy(), horizon=horizon))
    for field, value in r.items():  # every field of the result, each against R's own figure
        close(value, ref[field])
    # R also counts the pairs left tied (same death day, missing change): together all N (N - 1) / 2 pairs
    n = len(d)
    undecided = ref["n_pairs_same_death_day"] + ref["n_pairs_missing_change"]
    assert r["n_pairs_survival"] + r["n_pairs_function"] + undecided == n * (n - 1) // 2


def test_toy_scores_by_hand(toy):
    # A, B die on day 100 (a tie with each other, worse than everyone else); C dies on day 200 (beats A, B only).
    # D is censored alive on day 300: vs C survival decides; vs E, F, G (alive on day 300) function does (-4 beats
    # -5 and -8, loses to -3); vs H (change missing) a tie. G dies on day 600, after the horizon: alive at 365, so
    # compared on function and best of all (-3). H (censored on day 365, change missing) ties with D, E, F, G.
    u = dict(zip(toy.index, cafs_scores(*_arrays(toy)), strict=True))
    assert u == {"A": -6, "B": -6, "C": -3, "D": 4, "E": 2, "F": 0, "G": 6, "H": 3}


def test_toy_test_by_hand(toy):
    r = cafs_test(*_arrays(toy), toy.treated.to_numpy())
    assert (r.n_treated, r.n_control) == (4, 4)
    assert r.fs_statistic == -4  # A, C, E, H: -6 - 3 + 2 + 3
    assert (r.mean_score_treated, r.mean_score_control) == (-1.0, 1.0)
    assert r.fs_variance == pytest.approx(4 * 4 / (8 * 7) * 146)  # sum of u^2 = 146
    assert r.fs_z == pytest.approx(-4 / np.sqrt(r.fs_variance))
    # treated-control pairs: treated wins C-B, E-B, E-F, H-B; ties A-B, H-D, H-F, H-G; control wins the other 8
    assert (r.wins_treated, r.wins_control, r.ties) == (4, 8, 4)
    assert r.win_probability == pytest.approx((4 + 0.5 * 4) / 16)
    assert r.win_ratio == pytest.approx(0.5)
    assert r.wilcoxon_w == 5.5  # treated scores beat control scores: 0.5 + 1 + 2 + 2
    # 28 pairs: 17 decided by survival, 6 on function (D, E, F, G among themselves), 5 ties (A-B; H with D-G)
    assert (r.n_pairs_survival, r.n_pairs_function, r.n_change_missing) == (17, 6, 4)


def test_scores_sum_to_zero_and_horizon_matters():
    rng = np.random.default_rng(7)
    n = 60
    t = np.ceil(rng.uniform(1, 800, n))
    e = (rng.random(n) < 0.5).astype(int)
    c = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.normal(-8, 5, n)))
    for horizon in (90.0, 365.0, 1000.0):
        assert cafs_scores(t, e, c, horizon).sum() == 0
    # a death after the horizon is no death: two patients dying on days 400 and 500 are compared on function
    assert list(cafs_scores([400, 500], [1, 1], [-2, -6])) == [1, -1]
    assert list(cafs_scores([400, 500], [1, 1], [-2, -6], horizon=450)) == [-1, 1]


def _pair_by_pair(t, e, c, g, horizon):
    """The rule read literally, one pair at a time (O(N^2)): the oracle for the sort-based counts."""
    n = len(t)
    w = np.zeros((n, n), dtype=int)
    by_survival = by_function = 0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            common = min(t[i], t[j], horizon)
            di, dj = e[i] == 1 and t[i] <= common, e[j] == 1 and t[j] <= common
            if di or dj:
                w[i, j] = int(dj) - int(di)
                by_survival += (di != dj) and i < j
            elif not (np.isnan(c[i]) or np.isnan(c[j])):
                w[i, j] = int(np.sign(c[i] - c[j]))
                by_function += i < j
    tc = w[np.ix_(g == 1, g == 0)]
    return w.sum(axis=1), int((tc > 0).sum()), int((tc < 0).sum()), by_survival, by_function


@pytest.mark.parametrize("seed", range(40))
def test_sort_based_counts_equal_the_pairs_one_by_one(seed):
    # heavy ties on purpose: shared death days, deaths on the horizon, equal changes, missing changes
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    days = [0, 10, 100, 100, 200, 365, 366, 600] if seed % 2 else range(800)
    t = rng.choice(days, n).astype(float)
    e = rng.integers(0, 2, n)
    c = np.where(rng.random(n) < 0.25, np.nan, rng.choice([-6.0, -3.0, -1.0, 0.0, 2.5], n))
    g = np.zeros(n, dtype=int)
    g[rng.choice(n, max(1, n // 3), replace=False)] = 1
    if g.all():
        g[0] = 0
    horizon = float(rng.choice([100.0, 365.0, 1000.0]))
    scores, wins_t, wins_c, n_survival, n_function = _pair_by_pair(t, e, c, g, horizon)
    np.testing.assert_array_equal(cafs_scores(t, e, c, horizon), scores)
    r = cafs_test(t, e, c, g, horizon)
    assert (r.wins_treated, r.wins_control) == (wins_t, wins_c)
    assert (r.n_pairs_survival, r.n_pairs_function) == (n_survival, n_function)


def test_arm_labels_swapped_mirror_the_test(toy):
    time, event, change = _arrays(toy)
    a = cafs_test(time, event, change, toy.treated.to_numpy())
    b = cafs_test(time, event, change, 1 - toy.treated.to_numpy())
    assert b.fs_statistic == -a.fs_statistic and b.fs_p == pytest.approx(a.fs_p)
    assert b.win_probability == pytest.approx(1 - a.win_probability)
    assert b.win_ratio == pytest.approx(1 / a.win_ratio)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, 2]}, "equal lengths"),
        ({"time": [1, -2, 3]}, "time must be finite and >= 0"),
        ({"time": [1, np.nan, 3]}, "time must be finite"),
        ({"event": [0, 2, 1]}, "event must be 0"),
        ({"treated": [1, 1, 1]}, "both arms"),
        ({"treated": [1, 0, 2]}, "treated must be 0 or 1"),
        ({"change": [0, np.inf, 1]}, "change must be finite or NaN"),
        ({"horizon": 0}, "horizon must be a positive"),
    ],
)
def test_validation(kwargs, message):
    args = {"time": [10, 20, 30], "event": [1, 0, 1], "change": [-1, np.nan, 2], "treated": [1, 0, 0]}
    with pytest.raises(ValueError, match=message):
        cafs_test(**{**args, **kwargs})
