"""Study diagnostics against R (tests/analytics/r/estimands_reference.R: CohortMethod's preference score, equipoise
and Schoenfeld MDRR written out; reverse KM with survfit; at-risk counts with summary.survfit; MatchIt SMDs and
pairs; cox.zph) on the committed synthetic study cohort (eligible rows, glm PS, MatchIt general path)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close

from analytics.cox import cox_zph
from analytics.diagnostics import (
    Diagnostic,
    equipoise,
    followup_parity,
    generalisability,
    max_abs_smd,
    minimum_detectable_hr,
    preference_score,
    proportional_hazards,
    rmst_horizon,
    short_matched_sets,
)
from analytics.propensity import design_covariates
from analytics.study import COX_TERMS, run_matched_analysis, validate_cohort


@pytest.fixture(scope="module")
def eligible(cohort):
    return validate_cohort(cohort)


@pytest.fixture(scope="module")
def result(cohort):
    return run_matched_analysis(cohort)


@pytest.fixture(scope="module")
def result_1to2_caliper(cohort):
    return run_matched_analysis(cohort, ratio=2, caliper=0.05)


def _arrays(m: pd.DataFrame):
    return m["time_days"].to_numpy(float), m["event"].to_numpy(int), m["treated"].to_numpy(int)


def test_preference_score_and_equipoise_match_r(eligible, result, estimands_ref):
    ref = estimands_ref["equipoise"]
    ps = result.scores.reindex(eligible["subject_id"]).to_numpy()
    tr = eligible["treated"].to_numpy()
    f = preference_score(ps, tr)
    assert eligible["subject_id"].iloc[:5].tolist() == ref["subject_first"]
    close(f[:5], ref["pref_first"])
    close([f.min(), f.max(), f.mean()], [ref["pref_min"], ref["pref_max"], ref["pref_mean"]])
    d = equipoise(ps, tr)
    assert isinstance(d, Diagnostic) and d.name == "equipoise" and d.threshold == 0.2
    assert d.values["n_inside"] == ref["n_inside"] and d.values["n"] == ref["n"]
    close(
        [d.value, d.values["share_treated"], d.values["share_control"], d.values["proportion_treated"]],
        [ref["share"], ref["share_treated"], ref["share_control"], ref["proportion"]],
    )
    assert d.passed is True
    assert equipoise(ps, tr, threshold=0.95).passed is False


def test_preference_score_is_half_when_ps_equals_the_treated_share():
    tr = np.r_[np.ones(20, int), np.zeros(80, int)]
    f = preference_score(np.full(100, 0.2), tr)
    np.testing.assert_allclose(f, 0.5)
    assert (
        preference_score(np.r_[1.0, 0.0, np.full(98, 0.2)], np.r_[1, 0, tr[1:-1]])[0] < 1
    )  # capped as CohortMethod


def test_minimum_detectable_hr_matches_schoenfeld_in_r(result, estimands_ref):
    ref = estimands_ref["mdrr"]
    m = result.matched
    d = minimum_detectable_hr(int(m["event"].sum()), float(m["treated"].mean()))
    assert d.values["events"] == ref["events"]
    close(
        [d.value, d.values["protective"], d.values["se_log_hr"], d.values["p_treated"]],
        [ref["mdrr"], ref["protective"], ref["se_log_hr"], ref["p_treated"]],
    )
    close(ref["events_back"], ref["events"])  # the R check: Schoenfeld's D at that HR gives the events back
    assert d.passed is True and d.threshold == 10.0
    assert minimum_detectable_hr(3, 0.5).passed is False  # exp(2.8 / sqrt(0.75)) > 10
    assert minimum_detectable_hr(0, 0.5).value == math.inf


def test_followup_parity_matches_reverse_km_in_r(result, estimands_ref):
    ref = estimands_ref["followup"]
    d = followup_parity(*_arrays(result.matched))
    for arm in ("treated", "control"):
        v = d.values[arm]
        close(
            [v["median"], v["lower"], v["upper"], v["n"]],
            [ref[arm][k] for k in ("median", "lower", "upper", "n")],
        )
    close(d.value, ref["ratio"])
    assert d.passed is True and d.threshold == pytest.approx((1 / 1.5, 1.5))


def test_followup_parity_not_assessable_when_a_median_is_not_reached():
    # control arm: nobody censored before the end -> reverse KM never falls to 0.5
    time = np.r_[np.arange(1, 21), np.arange(1, 21)]
    event = np.r_[np.zeros(20, int), np.ones(20, int)]
    treated = np.r_[np.ones(20, int), np.zeros(20, int)]
    d = followup_parity(time, event, treated)
    assert d.passed is None and np.isnan(d.value)


@pytest.mark.parametrize("key", ["m10", "m20", "m1"])
def test_rmst_horizon_matches_at_risk_counts_in_r(key, result, estimands_ref):
    ref = estimands_ref["horizon"][key]
    t, _, tr = _arrays(result.matched)
    d = rmst_horizon(t, tr, min_at_risk=ref["min_at_risk"])
    assert d.value == ref["tau"] and d.passed is True
    assert d.values["tau_treated"] == ref["tau_treated"] and d.values["tau_control"] == ref["tau_control"]
    assert d.values["at_risk"] == {"treated": ref["n_risk_treated"], "control": ref["n_risk_control"]}
    assert min(ref["n_risk_treated"], ref["n_risk_control"]) >= ref["min_at_risk"]
    if ref["next_time"] is not None:  # R: just after tau one arm is below the rule
        assert min(ref["n_risk_treated_next"], ref["n_risk_control_next"]) < ref["min_at_risk"]


def test_rmst_horizon_fails_when_an_arm_is_too_small():
    d = rmst_horizon([1, 2, 3, 4, 5, 6], [1, 1, 0, 0, 0, 0], min_at_risk=3)
    assert d.passed is False and np.isnan(d.value) and "treated" in d.detail


def test_max_abs_smd_matches_matchit(result, estimands_ref):
    ref = estimands_ref["smd"]
    close(result.smd_after.loc[list(ref["smd"]), "smd"], list(ref["smd"].values()))
    d = max_abs_smd(result.smd_after)
    close(d.value, ref["max_abs"])
    assert d.values["worst"] == ref["worst"]
    assert d.passed is (ref["max_abs"] < 0.1)  # onset_bulbar 0.197 after 1:1 matching: fails
    assert d.passed is False and "onset_bulbar" in d.detail
    assert max_abs_smd(pd.Series({"a": 0.1})).passed is False  # strict <, as CohortMethod
    assert max_abs_smd(pd.Series({"a": -0.09})).passed is True


def test_short_matched_sets_match_matchit(eligible, result_1to2_caliper, estimands_ref):
    ref = estimands_ref["short_sets"]
    pairs = result_1to2_caliper.matching.pairs
    assert len(pairs) == ref["n_pairs"]
    treated_ids = eligible.loc[eligible["treated"] == 1, "subject_id"]
    d = short_matched_sets(pairs, ratio=2, treated_ids=treated_ids)
    assert d.value == ref["n_short"] and d.passed is (ref["n_short"] == 0)
    v = d.values
    assert (v["n_treated"], v["n_full"], v["n_short"], v["n_unmatched"]) == (
        ref["n_treated"],
        ref["n_full"],
        ref["n_short"],
        ref["n_unmatched"],
    )
    without = short_matched_sets(pairs, ratio=2)  # from the pairs alone: unmatched treated are not visible
    assert without.value == ref["n_short"] and without.values["n_unmatched"] is None
    assert (
        short_matched_sets(result_1to2_caliper.matching.pairs, ratio=3).value
        == ref["n_full"] + ref["n_short"]
    )
    with pytest.raises(ValueError):
        short_matched_sets(pairs, ratio=1)


def test_generalisability_matches_r(eligible, result_1to2_caliper, estimands_ref):
    ref = estimands_ref["generalisability"]
    matched_t = set(result_1to2_caliper.matching.pairs["treated_id"])
    assert sorted(matched_t) == ref["matched_treated"]
    covs = design_covariates(eligible)
    d = generalisability(covs, eligible["treated"], eligible["subject_id"].isin(matched_t))
    assert (d.values["n_treated"], d.values["n_matched_treated"]) == (ref["n_all"], ref["n_matched"])
    close([d.values["smd"][c] for c in ref["smd"]], list(ref["smd"].values()))
    close(d.value, ref["max_abs"])
    assert d.passed is True
    everyone = generalisability(covs, eligible["treated"], np.ones(len(eligible), bool))
    assert everyone.value == 0.0


def test_proportional_hazards_verdicts_match_cox_zph(result, estimands_ref):
    ref = estimands_ref["zph"]
    terms = {"group": ["group_single", "group_multiple"], **{t: [t] for t in COX_TERMS[2:]}}
    ds = proportional_hazards(cox_zph(result.cox, terms=terms))
    assert [d.values["term"] for d in ds] == ref["terms"]
    close([d.value for d in ds], ref["p"])
    assert [d.passed for d in ds] == ref["passed"]  # sex_male rejected (p = 0.018), GLOBAL not
    assert [d.values["df"] for d in ds] == ref["df"]
    assert ds[1].name == "proportional_hazards[sex_male]" and "rejected" in ds[1].detail
