"""Kaplan-Meier, log-rank and RMST against R survival 3.5-3 (tests/analytics/r/survival_reference.R) on the
public data sets shipped with lifelines (waltons, lung, gbsg2) plus two constructed flat-at-0.5 curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close, load_data

from analytics.survival import kaplan_meier, kaplan_meier_by_group, logrank_test, pairwise_logrank

FLAT = {
    "flat_half": ([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 0, 1, 0, 1]),
    "flat_half2": ([1, 2, 3, 4], [1, 1, 0, 1]),
}


def _km_cases():
    w = load_data("waltons.csv")
    lung = load_data("lung.csv")
    yield "waltons_control", kaplan_meier(w["T"][w.group == "control"], w.E[w.group == "control"])
    yield "waltons_miR-137", kaplan_meier(w["T"][w.group == "miR-137"], w.E[w.group == "miR-137"])
    yield "lung", kaplan_meier(lung.time, lung.status)
    for k, (t, e) in FLAT.items():
        yield k, kaplan_meier(t, e)


KM_CASES = dict(_km_cases())


@pytest.mark.parametrize("name", list(KM_CASES))
def test_km_table_matches_r_survfit(name, survival_ref):
    km, ref = KM_CASES[name], survival_ref["km"][name]["table"]
    tab = km.table
    assert tab["time"].tolist() == ref["time"]
    assert tab["n_risk"].tolist() == ref["n_risk"]
    assert tab["n_event"].tolist() == ref["n_event"]
    close(tab["surv"], ref["surv"])
    # R reports Inf/NaN std.err where S = 0 as null in JSON
    finite = np.array([v is not None for v in ref["std_err"]])
    close(tab["std_err"][finite], [v for v in ref["std_err"] if v is not None])
    close(tab["lower"], ref["lower"])
    close(tab["upper"], ref["upper"])


@pytest.mark.parametrize("name", list(KM_CASES))
def test_median_ci_and_rmst_match_r_print_survfit(name, survival_ref):
    km = KM_CASES[name]
    for row in survival_ref["km"][name]["print"]:
        assert km.n == row["n"] and km.events == row["events"]
        med, lo, hi = km.median()
        close([med, lo, hi], [row["median"], row["lcl"], row["ucl"]])
        est, se = km.rmst(row["tau"])
        close([est, se], [row["rmean"], row["se_rmean"]])


def test_flat_segment_at_half_gives_midpoint_median(survival_ref):
    # S = 0.5 on [2, 4) then drops at 4: R print(survfit) reports (2 + 4) / 2 = 3, not 2
    assert KM_CASES["flat_half2"].median()[0] == 3.0
    assert survival_ref["km"]["flat_half2"]["print"][0]["median"] == 3


@pytest.mark.parametrize("name", ["waltons_control", "waltons_miR-137", "lung"])
def test_survival_at_times_matches_r_summary(name, survival_ref):
    ref = survival_ref["km"][name]["at"]
    km = KM_CASES[name]
    times = {
        "waltons_control": [5, 30, 50, 60],
        "waltons_miR-137": [5, 30, 50, 60],
        "lung": [100, 365, 730, 1000],
    }
    at = km.survival_at(times[name])
    inside = at.dropna(subset=["surv"])
    assert inside["time"].tolist() == ref["time"]  # times after the last follow-up are dropped by R too
    assert inside["n_risk"].astype(int).tolist() == ref["n_risk"]
    close(inside["surv"], ref["surv"])
    close(inside["std_err"], ref["std_err"])
    close(inside["lower"], ref["lower"])
    close(inside["upper"], ref["upper"])


def test_survival_before_first_time_is_one_and_after_last_depends_on_how_the_curve_ended():
    km = kaplan_meier([5, 6, 7], [1, 0, 1])  # last is a death: S(7) = 0
    at = km.survival_at([0, 8])
    assert at.loc[0, "surv"] == 1.0 and at.loc[0, "n_risk"] == 3
    assert at.loc[1, "surv"] == 0.0 and at.loc[1, "n_risk"] == 0 and np.isnan(at.loc[1, "std_err"])
    km = kaplan_meier([5, 6, 7], [1, 1, 0])  # last is a censoring: unknown after 7
    assert at.columns.tolist() == km.survival_at([8]).columns.tolist()
    assert km.survival_at([8]).drop(columns="time").isna().all(axis=None)


def _at_case(name):
    lung, w = load_data("lung.csv"), load_data("waltons.csv")
    return {
        "flat2": lambda: kaplan_meier(*FLAT["flat_half2"]),
        "waltons_miR137": lambda: kaplan_meier(w["T"][w.group == "miR-137"], w.E[w.group == "miR-137"]),
        "lung_male": lambda: kaplan_meier(lung.time[lung.sex == 1], lung.status[lung.sex == 1]),
    }[name]()


@pytest.mark.parametrize("name", ["flat2", "waltons_miR137", "lung_male"])
def test_survival_at_after_the_end_of_the_curve_matches_r(name, estimands_ref):
    """tests/analytics/r/estimands_reference.R: a curve that reached 0 is 0 afterwards (R ``extend = TRUE``: surv 0,
    n.risk 0, std.err NaN, CI NA); one that ended with a censoring is unknown afterwards (R ``extend = FALSE``
    drops the time; ``extend = TRUE`` would carry the last value forward, which we do not)."""
    ref = estimands_ref["survival_at"][name]
    km = _at_case(name)
    at = km.survival_at(ref["times"])
    assert km.table["time"].iloc[-1] == ref["last_time"]
    close(km.table["surv"].iloc[-1], ref["last_surv"])
    inside = at["time"] <= ref["last_time"]
    r_in = ref["extend_false"]
    assert at.loc[inside, "time"].tolist() == r_in["time"]  # R extend = FALSE keeps exactly these
    assert at.loc[inside, "n_risk"].astype(int).tolist() == r_in["n_risk"]
    for col in ("surv", "std_err", "lower", "upper"):
        close(at.loc[inside, col], r_in[col])
    after = at.loc[~inside]
    assert len(after) > 0
    r_ext = {k: v[int(inside.sum()) :] for k, v in ref["extend_true"].items()}
    if ref["last_surv"] == 0:
        assert after["n_risk"].tolist() == r_ext["n_risk"]
        for col in ("surv", "std_err", "lower", "upper"):
            close(after[col], r_ext[col])
    else:
        assert r_ext["n_risk"] == [0] * len(after) and r_ext["surv"] == [ref["last_surv"]] * len(after)
        assert after.drop(columns="time").isna().all(axis=None)


def test_logrank_two_groups_matches_r(survival_ref):
    w = load_data("waltons.csv")
    r = logrank_test(w["T"], w.E, w.group)
    ref = survival_ref["logrank"]["waltons"]
    close([r.chisq, r.p], [ref["chisq"], ref["p"]])
    close(r.observed, ref["observed"])
    close(r.expected, ref["expected"])
    assert r.df == 1


def test_logrank_three_and_four_groups_match_r(survival_ref):
    g = load_data("gbsg2.csv")
    r = logrank_test(g.time, g.cens, g.tgrade)
    ref = survival_ref["logrank"]["gbsg2_tgrade"]
    close([r.chisq, r.p], [ref["chisq"], ref["p"]])
    assert r.df == 2
    lung = load_data("lung.csv").dropna(subset=["ph.ecog"])
    r4 = logrank_test(lung.time, lung.status, lung["ph.ecog"])
    ref4 = survival_ref["logrank"]["lung_ecog"]
    close([r4.chisq, r4.p], [ref4["chisq"], ref4["p"]])
    assert r4.df == 3


def test_pairwise_logrank_matches_r_subsets(survival_ref):
    g = load_data("gbsg2.csv")
    pw = pairwise_logrank(g.time, g.cens, g.tgrade)
    assert list(zip(pw.group_a, pw.group_b, strict=True)) == [("I", "II"), ("I", "III"), ("II", "III")]
    for row in pw.itertuples():
        ref = survival_ref["logrank"][f"gbsg2_{row.group_a}_vs_{row.group_b}"]
        close([row.chisq, row.p], [ref["chisq"], ref["p"]])


def test_logrank_is_invariant_to_group_labels_and_row_order():
    g = load_data("gbsg2.csv")
    a = logrank_test(g.time, g.cens, g.tgrade).chisq
    perm = np.random.default_rng(1).permutation(len(g))
    relabel = g.tgrade.map({"I": "z", "II": "a", "III": "m"})
    b = logrank_test(g.time.to_numpy()[perm], g.cens.to_numpy()[perm], relabel.to_numpy()[perm]).chisq
    assert a == pytest.approx(b, rel=1e-12)


def test_km_by_group_and_input_validation():
    w = load_data("waltons.csv")
    groups = kaplan_meier_by_group(w["T"], w.E, w.group)
    assert list(groups) == ["control", "miR-137"]
    assert sum(k.n for k in groups.values()) == len(w)
    with pytest.raises(ValueError, match="event must be 0/1"):
        kaplan_meier([1, 2], [0, 2])
    with pytest.raises(ValueError, match="time must be finite"):
        kaplan_meier([-1, 2], [0, 1])
    with pytest.raises(ValueError, match="at least two groups"):
        logrank_test([1, 2], [1, 1], ["a", "a"])


def test_rmst_of_uncensored_sample_is_mean_of_truncated_times():
    t = pd.Series([2.0, 3.0, 5.0, 7.0, 11.0])
    est, _ = kaplan_meier(t, np.ones(5)).rmst(6.0)
    assert est == pytest.approx(np.minimum(t, 6.0).mean(), rel=1e-12)
