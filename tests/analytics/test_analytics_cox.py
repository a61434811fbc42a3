"""Cox PH (Efron), robust variance and cox.zph against R survival 3.5-3 (tests/analytics/r/survival_reference.R,
``coxph.control(eps = 1e-12)``) on rossi, lung and gbsg2 as shipped with lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close, load_data
from lifelines import CoxPHFitter

from analytics.cox import cox_zph, fit_cox

ROSSI_X = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    r = load_data("rossi.csv")
    r["pair"] = np.arange(len(r)) // 2
    return r


def _check(fit, ref, robust=False):
    assert fit.names == ref["names"]
    close(fit.coef, ref["coef"])
    close(fit.se, ref["se"])
    close([fit.loglik_null, fit.loglik], ref["loglik"], rtol=1e-9)
    s = fit.summary(robust=robust)
    close(s["p"], ref["p"])
    if robust:
        close(s["se"], ref["robust_se"])


def test_rossi_efron_matches_r(rossi, survival_ref):
    fit = fit_cox(rossi.week, rossi.arrest, rossi[ROSSI_X])
    _check(fit, survival_ref["cox"]["rossi"])
    s = fit.summary()
    assert s.loc["fin", "hr"] == pytest.approx(np.exp(survival_ref["cox"]["rossi"]["coef"][0]), rel=1e-6)
    z = 1.959963984540054
    assert s.loc["prio", "lower"] == pytest.approx(np.exp(fit.coef[-1] - z * fit.se[-1]), rel=1e-12)


def test_rossi_cluster_robust_variance_matches_r(rossi, survival_ref):
    fit = fit_cox(rossi.week, rossi.arrest, rossi[ROSSI_X], cluster=rossi.pair)
    _check(fit, survival_ref["cox"]["rossi_cluster"], robust=True)


def test_robust_without_cluster_matches_r(rossi, survival_ref):
    fit = fit_cox(rossi.week, rossi.arrest, rossi[["fin", "age", "prio"]], robust=True)
    _check(fit, survival_ref["cox"]["rossi_robust"], robust=True)


def test_lung_and_factor_model_match_r(survival_ref):
    lung, x = _lung_design()
    _check(fit_cox(lung.time, lung.status, x), survival_ref["cox"]["lung"])
    g, xg = _gbsg2_design()
    _check(fit_cox(g.time, g.cens, xg), survival_ref["cox"]["gbsg2_factor"])


def _lung_design():
    """R: coxph(Surv(time, status) ~ age + I(sex == 2) + ph.ecog, lung) on complete ph.ecog."""
    lung = load_data("lung.csv").dropna(subset=["ph.ecog"])
    return lung, pd.DataFrame({"age": lung.age, "female": (lung.sex == 2).astype(float), "ph.ecog": lung["ph.ecog"]})


def _gbsg2_design():
    """R: coxph(Surv(time, cens) ~ tgrade + horTh + age + pnodes, GBSG2) with treatment-coded factors."""
    g = load_data("gbsg2.csv")
    return g, pd.DataFrame({
        "tgradeII": (g.tgrade == "II").astype(float),
        "tgradeIII": (g.tgrade == "III").astype(float),
        "horTh_yes": (g.horTh == "yes").astype(float),
        "age": g.age,
        "pnodes": g.pnodes,
    })


@pytest.mark.parametrize("case", ["rossi", "lung", "gbsg2_factor"])
def test_cox_zph_matches_r(case, rossi, survival_ref):
    if case == "rossi":
        fit, terms = fit_cox(rossi.week, rossi.arrest, rossi[ROSSI_X]), None
    elif case == "lung":
        lung, x = _lung_design()
        fit, terms = fit_cox(lung.time, lung.status, x), None
    else:
        g, xg = _gbsg2_design()
        fit = fit_cox(g.time, g.cens, xg)
        terms = {
            "tgrade": ["tgradeII", "tgradeIII"],
            "horTh_yes": ["horTh_yes"],
            "age": ["age"],
            "pnodes": ["pnodes"],
        }
    z = cox_zph(fit, terms=terms)
    ref = survival_ref["cox"][case]["zph"]
    assert z.index.tolist() == ref["terms"]
    assert z["df"].tolist() == ref["df"]
    close(z["chisq"], ref["chisq"])
    close(z["p"], ref["p"])


@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")
def test_agrees_with_lifelines_point_estimates(rossi):
    """Independent implementation check (lifelines also uses Efron)."""
    cph = CoxPHFitter().fit(
        rossi[[*ROSSI_X, "week", "arrest"]], "week", "arrest", fit_options={"precision": 1e-12}
    )
    fit = fit_cox(rossi.week, rossi.arrest, rossi[ROSSI_X])
    np.testing.assert_allclose(fit.coef, cph.params_[ROSSI_X].to_numpy(), rtol=1e-7)


def test_score_residuals_sum_to_zero_at_mle_and_follow_input_order(rossi):
    fit = fit_cox(rossi.week, rossi.arrest, rossi[["fin", "age", "prio"]], robust=True)
    res = fit.score_residuals()
    np.testing.assert_allclose(res.sum().to_numpy(), 0.0, atol=1e-8)
    perm = np.random.default_rng(3).permutation(len(rossi))
    fit2 = fit_cox(
        rossi.week.to_numpy()[perm],
        rossi.arrest.to_numpy()[perm],
        rossi[["fin", "age", "prio"]].iloc[perm].reset_index(drop=True),
        robust=True,
    )
    np.testing.assert_allclose(fit2.score_residuals().to_numpy(), res.to_numpy()[perm], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fit2.robust_vcov, fit.robust_vcov, rtol=1e-8)


def test_input_validation(rossi):
    with pytest.raises(ValueError, match="no events"):
        fit_cox([1, 2, 3], [0, 0, 0], pd.DataFrame({"a": [1.0, 0.0, 1.0]}))
    with pytest.raises(ValueError, match="same length"):
        fit_cox([1, 2], [1, 0, 1], pd.DataFrame({"a": [1.0, 0.0, 1.0]}))
    fit = fit_cox(rossi.week, rossi.arrest, rossi[["fin"]])
    with pytest.raises(ValueError, match="without cluster"):
        fit.summary(robust=True)
