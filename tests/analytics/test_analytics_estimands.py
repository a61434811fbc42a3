"""RMST contrast, survival difference and E-value against R (tests/analytics/r/estimands_reference.R: survRM2,
EValue formulas written out on survival's own outputs) on the public lung and waltons data sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analytics_ref import close, load_data

from analytics.estimands import e_value, hr_to_rr, rmst_contrast, survival_difference
from analytics.survival import kaplan_meier


def _arms(name):
    if name == "lung_sex":  # arm 1 = female
        d = load_data("lung.csv")
        arm, t, e = (d.sex == 2).to_numpy(), d.time, d.status
    else:  # waltons: arm 1 = miR-137; both curves reach 0
        d = load_data("waltons.csv")
        arm, t, e = (d.group == "miR-137").to_numpy(), d["T"], d.E
    t, e = np.asarray(t, float), np.asarray(e, int)
    return kaplan_meier(t[arm], e[arm]), kaplan_meier(t[~arm], e[~arm])


@pytest.mark.parametrize("name", ["lung_sex", "waltons"])
def test_rmst_contrast_matches_survrm2_formulas(name, estimands_ref):
    km1, km0 = _arms(name)
    for ref in estimands_ref["rmst"][name]:
        r = rmst_contrast(km1, km0, ref["tau"])
        close([r.rmst1, r.se1**2], [ref["arm1"]["rmst"], ref["arm1"]["var"]])
        close([r.rmst0, r.se0**2], [ref["arm0"]["rmst"], ref["arm0"]["var"]])
        d, q = ref["difference"], ref["ratio"]
        close(
            [r.difference, r.difference_se, r.difference_lower, r.difference_upper, r.difference_p],
            [d["estimate"], d["se"], d["lower"], d["upper"], d["p"]],
        )
        close(
            [r.ratio, r.ratio_se_log, r.ratio_lower, r.ratio_upper, r.ratio_p],
            [q["estimate"], q["se_log"], q["lower"], q["upper"], q["p"]],
        )


def test_survrm2_variance_is_survival_survmean_se_squared(estimands_ref):
    # established in R: survRM2's per-arm variance and print(survfit, rmean=)'s se^2 differ only by rounding
    for name in ("lung_sex", "waltons"):
        for ref in estimands_ref["rmst"][name]:
            for arm in ("arm1", "arm0"):
                a = ref[arm]
                assert math.isclose(a["var"], a["survmean_se"] ** 2, rel_tol=1e-12)
                assert math.isclose(a["rmst"], a["survmean_rmst"], rel_tol=1e-12)
            assert ref["var_vs_survmean"] < 1e-9


def test_rmst_tau_must_be_admissible_as_in_survrm2():
    km1, km0 = _arms("lung_sex")  # both lung curves end with a censoring (female 965, male 1022)
    rmst_contrast(km1, km0, 965)
    with pytest.raises(ValueError, match="censoring"):
        rmst_contrast(km1, km0, 966)
    w1, w0 = _arms("waltons")  # both reach 0 (62 and 75): up to the later one is fine, beyond it is not
    rmst_contrast(w1, w0, 75)
    with pytest.raises(ValueError, match="both arms"):
        rmst_contrast(w1, w0, 76)
    with pytest.raises(ValueError):
        rmst_contrast(w1, w0, 0)


@pytest.mark.parametrize("name", ["lung_sex", "waltons"])
def test_survival_difference_matches_r(name, estimands_ref):
    ref = estimands_ref["survival_difference"][name]
    km1, km0 = _arms(name)
    out = survival_difference(km1, km0, ref["time"])
    assert out["time"].tolist() == ref["time"]
    for col in ("surv1", "se1", "surv0", "se0", "difference", "se", "lower", "upper"):
        close(out[col], ref[col])


def test_survival_difference_rule_after_the_end_of_a_curve():
    km1, km0 = _arms("waltons")  # miR-137 reaches 0 at 62, control at 75
    out = survival_difference(km1, km0, [65, 80]).set_index("time")
    assert out.loc[65, "surv1"] == 0.0 and out.loc[65, "difference"] == -out.loc[65, "surv0"] < 0
    assert np.isnan(out.loc[65, "se"]) and np.isnan(out.loc[65, "lower"])
    assert out.loc[80, "difference"] == 0.0
    km1, km0 = _arms("lung_sex")  # female curve ends with a censoring at 965
    out = survival_difference(km1, km0, [1000]).iloc[0]
    assert np.isnan(out["surv1"]) and np.isnan(out["difference"]) and out["surv0"] > 0


def test_e_values_match_the_evalue_formulas(estimands_ref):
    for ref in estimands_ref["evalue"]:
        ev = e_value(ref["hr"], ref["lower"], ref["upper"], rare=ref["rare"])
        close([ev.rr, ev.rr_lower, ev.rr_upper], [ref["rr"], ref["rr_lower"], ref["rr_upper"]])
        close([ev.point, ev.ci], [ref["e_point"], ref["e_ci"]])


def test_e_value_rules():
    # a CI covering 1 has E-value 1; HR = 1 has E-value 1; protective and harmful are symmetric on the RR scale
    assert e_value(0.8, 0.6, 1.07).ci == 1.0
    assert e_value(1.3, 0.9, 1.9, rare=True).ci == 1.0
    assert e_value(1.0, 0.8, 1.25).point == 1.0
    assert math.isclose(e_value(0.5, rare=True).point, e_value(2.0, rare=True).point)
    assert math.isclose(e_value(2.0, rare=True).point, 2 + math.sqrt(2))
    assert math.isnan(e_value(0.5).ci)
    # the common-outcome conversion shrinks the effect, so the E-value is smaller than the rare-outcome one
    assert e_value(0.5).point < e_value(0.5, rare=True).point
    assert hr_to_rr(1.0, rare=False) == 1.0 and hr_to_rr(0.5, rare=True) == 0.5
    with pytest.raises(ValueError):
        e_value(0.5, 0.6, 0.9)
    with pytest.raises(ValueError):
        hr_to_rr(0.0, rare=False)
