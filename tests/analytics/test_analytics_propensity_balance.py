"""Propensity model (R glm) and balance (MatchIt summary, t.test, chisq.test) against
tests/analytics/r/study_reference.R on the committed synthetic cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close

from analytics.balance import chisq_test, smd_table, table_one
from analytics.propensity import PS_COVARIATES, design_covariates, fit_logistic, propensity_score


@pytest.fixture(scope="module")
def eligible(cohort) -> pd.DataFrame:
    return cohort[cohort.eligible].reset_index(drop=True)


def test_glm_coefficients_se_and_deviance_match_r(eligible, study_ref):
    fit, ps = propensity_score(eligible)
    ref = study_ref["propensity"]["coef"]
    assert list(fit.coef.index) == list(ref)
    close(fit.coef.to_numpy(), list(ref.values()))
    close(fit.se.to_numpy(), list(study_ref["extra"]["ps_se"].values()))
    close(fit.deviance, study_ref["extra"]["ps_deviance"], rtol=1e-10)
    assert ps.min() > 0 and ps.max() < 1


def test_logistic_agrees_with_statsmodels(eligible):
    import statsmodels.api as sm

    x = design_covariates(eligible)
    ours = fit_logistic(x, eligible.treated)
    sm_fit = sm.GLM(eligible.treated.astype(float), sm.add_constant(x), family=sm.families.Binomial()).fit(
        tol=1e-14
    )
    np.testing.assert_allclose(ours.coef.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-8)


def test_covariate_coding_and_validation(eligible):
    x = design_covariates(eligible)
    assert tuple(x.columns) == PS_COVARIATES
    assert x.sex_male.sum() == (eligible.sex == "M").sum()
    bad = eligible.assign(sex=eligible.sex.where(eligible.index != 3, "X"))
    with pytest.raises(ValueError, match="'sex'"):
        design_covariates(bad)
    with pytest.raises(ValueError, match="'riluzole'"):
        design_covariates(eligible.drop(columns="riluzole"))
    with pytest.raises(ValueError, match="'age' has 1 missing"):
        design_covariates(eligible.assign(age=eligible.age.where(eligible.index != 0)))
    with pytest.raises(ValueError, match="rank deficient"):
        fit_logistic(x.assign(age2=x.age * 2), eligible.treated)


def test_smd_before_matches_matchit_sum_all(eligible, study_ref):
    s = smd_table(design_covariates(eligible), eligible.treated)
    ref = study_ref["matching"]["smd"]["before"]
    close(s.loc[list(ref), "smd"], list(ref.values()))


def test_binary_smd_uses_p_one_minus_p_of_treated():
    x = pd.DataFrame({"b": [1, 1, 0, 0, 1, 0, 0, 0]})
    t = [1, 1, 1, 1, 0, 0, 0, 0]
    # treated p = .5 -> sd .5; control p = .25 -> SMD = .25 / .5
    assert smd_table(x, t).loc["b", "smd"] == pytest.approx(0.5)


def test_table_one_tests_match_r(eligible, study_ref):
    d = eligible.assign(arm=np.where(eligible.treated == 1, "b_treated", "a_control"))
    tab = table_one(
        d,
        "arm",
        continuous=["age", "alsfrs_r_baseline", "disease_duration_months"],
        categorical=["sex", "onset_site", "riluzole"],
    )
    cont = tab[tab.test == "Welch t-test"].set_index("variable")
    for v in ["age", "alsfrs_r_baseline", "disease_duration_months"]:
        ref = study_ref["extra"]["ttest"][v]
        # R: t.test(treated, control); our columns are sorted (control first), so the sign flips
        close([-cont.loc[v, "statistic"], cont.loc[v, "p"]], [ref["t"], ref["p"]])
    cat = tab[tab.test.str.startswith("Pearson")].set_index("variable")
    for v in ["sex", "onset_site", "riluzole"]:
        ref = study_ref["extra"]["chisq"][v]
        close([cat.loc[v, "statistic"], cat.loc[v, "p"]], [ref["chisq"], ref["p"]])
    assert "±" in cont.loc["age", "a_control"]
    assert tab[(tab.level == "M")].shape[0] == 1


def test_chisq_yates_hand_computed():
    # 2x2 [[10, 20], [20, 10]]: E = 15, |O - E| = 5, Yates: 4 * 4.5^2 / 15 = 5.4
    stat, p = chisq_test(np.array([[10, 20], [20, 10]]))
    assert stat == pytest.approx(5.4)
    assert chisq_test(np.array([[10, 20], [20, 10]]), correct=False)[0] == pytest.approx(4 * 25 / 15)
    with pytest.raises(ValueError, match="two groups"):
        table_one(pd.DataFrame({"g": ["a", "b", "c"], "x": [1, 2, 3]}), "g", continuous=["x"])
