"""Progression speed, Welch comparison (R t.test), IQR restriction (R quantile type 7), ALSFRS-R change at 12
months and subgroup survival."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close

from analytics.progression import (
    DAYS_PER_MONTH,
    alsfrs_change,
    compare_groups,
    iqr_mask,
    progression_speed,
    subgroup_survival,
)
from analytics.survival import logrank_test


def test_progression_speed_formula():
    # 48 - 36 = 12 points over 365.28 days = 12.0 months (30.44 days each) -> 1.0 point / month
    np.testing.assert_allclose(progression_speed([36, 48], [12 * DAYS_PER_MONTH, 100]), [1.0, 0.0])
    assert np.isnan(progression_speed([40], [0])[0])
    with pytest.raises(ValueError, match="0..48"):
        progression_speed([50], [100])


def test_welch_comparison_matches_r_t_test(cohort, study_ref):
    el = cohort[cohort.eligible]
    c = compare_groups(el.progression_speed, el.treated, 1, 0)
    ref = study_ref["extra"]["speed_ttest"]
    close([c.t, c.df, c.p], [ref["t"], ref["df"], ref["p"]])
    assert c.difference == pytest.approx(c.mean_a - c.mean_b)
    assert c.n_a == int((el.treated == 1).sum())


def test_iqr_mask_uses_r_type7_quartiles(cohort, study_ref):
    v = cohort[cohort.eligible].progression_speed.to_numpy()
    q1, q3 = study_ref["extra"]["speed_quartiles"]
    m = iqr_mask(v)
    assert m.sum() == ((v >= q1) & (v <= q3)).sum()
    assert 0.45 < m.mean() < 0.55
    assert not iqr_mask(np.array([1.0, np.nan, 2.0, 3.0]))[1]


def test_alsfrs_change_picks_nearest_visit_in_window():
    visits = pd.DataFrame(
        {
            "subject_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "visit_day": [0, 300, 380, 200, 500, 360, 335, 395],
            "alsfrs_r_total": [40, 35, 33, 38, 30, 30, 20, 21],
        }
    )
    baseline = pd.Series({"a": 40.0, "b": 38.0, "d": 25.0})
    out = alsfrs_change(visits, baseline).set_index("subject_id")
    assert out.loc["a", "visit_day"] == 380 and out.loc["a", "change"] == -7  # 15 days away beats 65
    assert "b" not in out.index  # 165 and 135 days away: outside +-90
    assert "c" not in out.index  # no baseline value
    assert out.loc["d", "visit_day"] == 335  # equally near (30 days): the earlier visit
    with pytest.raises(ValueError, match="alsfrs_r_total"):
        alsfrs_change(visits.drop(columns="alsfrs_r_total"), baseline)


def test_subgroup_survival_is_km_and_logrank_by_level(cohort):
    tr = cohort[cohort.treated == 1]
    s = subgroup_survival(tr, "korean")
    assert set(s.km) == {"False", "True"}
    assert s.logrank.chisq == logrank_test(tr.time_days, tr.event, tr.korean.astype(str)).chisq
    assert sum(k.n for k in s.km.values()) == len(tr)
