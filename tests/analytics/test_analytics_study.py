"""End-to-end matched analysis: every number of results.json against R (tests/analytics/r/study_reference.R:
glm, MatchIt general path, survfit, survdiff, coxph with and without cluster(pair)), plus the contract itself."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from analytics_ref import RTOL

from analytics.study import COX_TERMS, json_safe, run_matched_analysis


@pytest.fixture(scope="module")
def result(cohort):
    return run_matched_analysis(cohort)


def _compare(ours, ref, path=""):
    """Recursive comparison of two results.json trees; numbers relative 1e-6, None must match None."""
    if isinstance(ref, dict):
        assert set(ours) == set(ref), f"{path}: keys {sorted(ours)} != {sorted(ref)}"
        for k in ref:
            _compare(ours[k], ref[k], f"{path}.{k}")
    elif isinstance(ref, list):
        assert len(ours) == len(ref), path
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            _compare(a, b, f"{path}[{i}]")
    elif ref is None or isinstance(ref, str):
        assert ours == ref, f"{path}: {ours!r} != {ref!r}"
    else:
        assert ours is not None and math.isclose(ours, ref, rel_tol=RTOL, abs_tol=1e-300), (
            f"{path}: {ours} != {ref}"
        )


def test_results_json_equals_r_reference(result, study_ref):
    ref = {k: v for k, v in study_ref.items() if k != "extra"}
    full = result.to_json_dict()
    assert set(full) - set(ref) == {"estimands", "diagnostics"}  # (each checked against R in its own tests)
    ours = {k: v for k, v in full.items() if k in ref}
    _compare(ours, ref)
    assert len(ours["matching"]["pairs"]) == ours["n"]["treated"]  # 1:1, enough controls


def test_results_json_carries_the_estimands_and_every_diagnostic_with_its_verdict(result):
    d = result.to_json_dict()
    contrast = d["estimands"]["rmst_contrast"]
    assert contrast["tau"] == d["rmst"]["tau"]
    assert contrast["difference"] == pytest.approx(d["rmst"]["treated"]["estimate"] - d["rmst"]["control"]["estimate"])
    assert set(d["estimands"]["survival_difference"]) == {"365", "730", "1095"}
    assert set(d["estimands"]["e_value"]) <= {"group_single", "group_multiple"} and d["estimands"]["e_value"]
    names = [x["name"] for x in d["diagnostics"]]
    assert names[:7] == ["max_abs_smd", "equipoise", "minimum_detectable_hr", "followup_parity", "rmst_horizon",
                         "short_matched_sets", "generalisability"]
    assert "proportional_hazards[GLOBAL]" in names
    assert all(set(x) >= {"value", "threshold", "passed", "detail"} for x in d["diagnostics"])
    balance = d["diagnostics"][0]
    assert balance["passed"] == (max(abs(v) for v in d["matching"]["smd"]["after"].values()) < 0.1)
    horizon = next(x for x in d["diagnostics"] if x["name"] == "rmst_horizon")
    assert horizon["passed"] == (d["rmst"]["tau"] <= horizon["value"])


def test_contract_shape_and_json_serialisable(result):
    d = result.to_json_dict()
    json.dumps(d, allow_nan=False)
    assert list(d["propensity"]["coef"]) == [
        "intercept",
        "age",
        "sex_male",
        "onset_bulbar",
        "alsfrs_r_baseline",
        "riluzole",
        "disease_duration_months",
    ]
    assert list(d["matching"]["smd"]["before"]) == list(d["propensity"]["coef"])[1:]
    assert list(d["cox"]["terms"]) == list(COX_TERMS) == list(d["cox_robust"]["terms"])
    assert set(d["km"]["treated"]["surv"]) == {"365", "730", "1095"}
    # robust and naive fits share the point estimates but not the intervals
    assert d["cox"]["terms"]["age_ge54"]["hr"] == d["cox_robust"]["terms"]["age_ge54"]["hr"]
    assert d["cox"]["terms"]["age_ge54"]["lower"] != d["cox_robust"]["terms"]["age_ge54"]["lower"]
    # tau defaults to the last time with at least 10 patients at risk in both arms of the matched set
    m = result.matched
    tenth = [np.sort(m[m.treated == a].time_days.to_numpy())[-10] for a in (0, 1)]
    assert d["rmst"]["tau"] == min(tenth)
    horizon = next(x for x in d["diagnostics"] if x["name"] == "rmst_horizon")
    assert horizon["passed"]


def test_eligible_column_filters_rows(cohort, result):
    assert result.n_treated + result.n_control == int(cohort.eligible.sum())
    all_rows = run_matched_analysis(cohort.drop(columns="eligible"))
    assert all_rows.n_treated + all_rows.n_control == len(cohort)


def test_options_tau_caliper_ratio_and_sensitivity(cohort, result):
    r = run_matched_analysis(cohort, tau=365.0, caliper=0.05)
    assert r.tau == 365.0 and r.to_json_dict()["rmst"]["tau"] == 365.0
    assert len(r.matching.pairs) < len(result.matching.pairs)  # some treated outside the caliper
    assert (r.matching.pairs.distance <= r.matching.caliper_width).all()
    r2 = run_matched_analysis(cohort, ratio=2)
    assert r2.km["control"].n == 2 * r2.km["treated"].n
    rs = run_matched_analysis(cohort, extra_ps_covariates=("progression_speed",))
    assert "progression_speed" in rs.to_json_dict()["propensity"]["coef"]
    assert "progression_speed" in rs.to_json_dict()["matching"]["smd"]["after"]


def test_validation_names_the_column(cohort):
    with pytest.raises(ValueError, match="time_days"):
        run_matched_analysis(cohort.drop(columns="time_days"))
    with pytest.raises(ValueError, match="'group'"):
        run_matched_analysis(cohort.assign(group=np.where(cohort.treated == 1, "x", "control")))
    with pytest.raises(ValueError, match="'event'"):
        run_matched_analysis(cohort.assign(event=2))
    with pytest.raises(ValueError, match="'onset_site'"):
        run_matched_analysis(cohort.assign(onset_site="spinal"))
    with pytest.raises(ValueError, match="subject_id"):
        run_matched_analysis(cohort.assign(subject_id="same"))
    with pytest.raises(ValueError, match="progression_speed"):
        run_matched_analysis(
            cohort.drop(columns="progression_speed"), extra_ps_covariates=("progression_speed",)
        )


def test_absent_multiple_group_gives_null_terms(cohort):
    c = cohort.assign(group=np.where(cohort.group == "multiple", "single", cohort.group))
    d = run_matched_analysis(c).to_json_dict()
    assert d["cox"]["terms"]["group_multiple"] == {"hr": None, "lower": None, "upper": None, "p": None}
    assert d["pairwise_logrank"]["single_vs_multiple"] == {"chisq": None, "p": None}
    assert d["cox"]["terms"]["group_single"]["hr"] > 0


def test_json_safe_conversions():
    out = json_safe(
        {
            "a": np.float64("nan"),
            "b": np.int64(3),
            "c": [np.inf, 1.5],
            "d": np.bool_(True),
            "e": pd.NA,
            1: "x",
        }
    )
    assert out == {"a": None, "b": 3, "c": [None, 1.5], "d": True, "e": None, "1": "x"}


def test_cox_zph_of_study_model_matches_r(result, study_ref):
    from analytics.cox import cox_zph

    terms = {"group": ["group_single", "group_multiple"], **{t: [t] for t in COX_TERMS[2:]}}
    z = cox_zph(result.cox, terms=terms)
    ref = study_ref["extra"]["zph"]
    assert z.index.tolist() == list(ref)
    for term, (chisq, df, p) in ref.items():
        assert z.loc[term, "df"] == df
        assert math.isclose(z.loc[term, "chisq"], chisq, rel_tol=RTOL)
        assert math.isclose(z.loc[term, "p"], p, rel_tol=RTOL)


def test_sensitivity_analyses(cohort):
    from analytics.progression import iqr_mask
    from analytics.study import run_sensitivity_analyses

    s = run_sensitivity_analyses(cohort)
    assert "progression_speed" in s["ps_with_speed"].ps_fit.coef.index
    el = cohort[cohort.eligible]
    kept = el[iqr_mask(el.progression_speed)]
    iqr = s["speed_iqr"]
    assert iqr.n_treated + iqr.n_control == len(kept)
    assert set(iqr.matched.subject_id) <= set(kept.subject_id)
    assert "within_followup" not in s  # the committed cohort has no within-follow-up outcome


def test_within_followup_sensitivity_analysis_uses_the_within_followup_outcome(cohort):
    from analytics.study import sensitivity_variants

    # Deaths after day 600 are not counted (censored there): the variant analyses that outcome, everything else equal.
    late = cohort["time_days"] > 600
    with_outcome = cohort.assign(time_days_within_followup=np.where(late, 600.0, cohort["time_days"]),
                                 event_within_followup=np.where(late, 0, cohort["event"]))
    within = sensitivity_variants(with_outcome)["within_followup"]()
    direct = run_matched_analysis(cohort.assign(time_days=with_outcome["time_days_within_followup"],
                                                event=with_outcome["event_within_followup"]))
    assert within.to_json_dict() == direct.to_json_dict()
    assert within.km["control"].events < run_matched_analysis(cohort).km["control"].events


def test_a_studys_cut_points_times_horizon_and_ps_covariates_reach_the_analysis(cohort):
    """The options a study spec sets (als_eca.study.spec) change the analysis, not only its labels."""
    from analytics.study import cox_design, run_matched_analysis

    r = run_matched_analysis(cohort, alsfrs_cut=30, age_cut=60, survival_times=(180, 365), rmst_min_at_risk=20,
                             ps_covariates=("age", "sex_male", "alsfrs_r_baseline"))
    assert r.cox_terms[-2:] == ["alsfrs_r_baseline_ge30", "age_ge60"]
    x = cox_design(r.matched, 30, 60)
    assert (x["age_ge60"] == (r.matched["age"] >= 60).astype(float)).all()
    assert set(r.cox.names) <= set(r.cox_terms)
    assert list(r.ps_fit.coef.index) == ["intercept", "age", "sex_male", "alsfrs_r_baseline"]
    doc = r.to_json_dict()
    assert list(doc["km"]["treated"]["surv"]) == ["180", "365"]
    horizon = next(d for d in r.diagnostics() if d.name == "rmst_horizon")
    assert horizon.threshold == 20
    paper = run_matched_analysis(cohort)
    assert list(paper.ps_fit.coef.index)[1:] == ["age", "sex_male", "onset_bulbar", "alsfrs_r_baseline", "riluzole",
                                                  "disease_duration_months"]
    with pytest.raises(ValueError, match="unknown propensity covariate"):
        run_matched_analysis(cohort, ps_covariates=("age", "weight"))
