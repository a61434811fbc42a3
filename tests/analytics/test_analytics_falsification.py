"""Known-null falsification: the comparisons are built as described (who is analysed as treated, a reproducible
random half) and analysed exactly as the study; a null comparison of exchangeable patients covers 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.falsification import FALSIFICATIONS, falsification_cohort, run_falsifications
from analytics.study import analysis_cohort, run_matched_analysis


@pytest.fixture(scope="module")
def mart_rows(cohort) -> pd.DataFrame:
    """The committed study cohort as mart rows: its controls are PRO-ACT placebo patients; a third of its treated
    rows play PRO-ACT active-arm patients (outside the study cohort, every criterion but the arm met)."""
    rows = cohort.assign(source=np.where(cohort["treated"] == 1, "PMS", "PRO-ACT"), active_arm_eligible=None)
    active = rows.index[rows["treated"] == 1][::3]
    rows.loc[active, ["source", "treated", "group", "eligible", "active_arm_eligible"]] = \
        ["PRO-ACT", 0, None, False, True]
    rows.loc[rows["source"] == "PRO-ACT", "active_arm_eligible"] = \
        rows.loc[rows["source"] == "PRO-ACT", "active_arm_eligible"].fillna(False)
    return rows


def test_active_vs_placebo_analyses_the_active_arm_as_treated_against_the_eligible_placebo_patients(mart_rows):
    c = falsification_cohort(mart_rows, "active_vs_placebo")
    active = set(mart_rows.loc[mart_rows["active_arm_eligible"].fillna(False).astype(bool), "subject_id"])
    placebo = set(mart_rows.loc[mart_rows["eligible"].astype(bool) & (mart_rows["treated"] == 0), "subject_id"])
    assert set(c.loc[c["treated"] == 1, "subject_id"]) == active
    assert set(c.loc[c["treated"] == 0, "subject_id"]) == placebo
    assert (c.loc[c["treated"] == 1, "group"] == "single").all() and c["eligible"].all()
    assert not set(c["subject_id"]) & set(mart_rows.loc[mart_rows["source"] == "PMS", "subject_id"])


def test_placebo_halves_are_a_reproducible_random_split_of_the_placebo_patients(mart_rows):
    a = falsification_cohort(mart_rows, "placebo_halves", seed=1)
    b = falsification_cohort(mart_rows, "placebo_halves", seed=1)
    c = falsification_cohort(mart_rows, "placebo_halves", seed=2)
    pd.testing.assert_frame_equal(a, b)
    placebo = mart_rows[mart_rows["eligible"].astype(bool) & (mart_rows["treated"] == 0)]
    assert sorted(a["subject_id"]) == sorted(placebo["subject_id"])
    assert a["treated"].sum() == len(placebo) // 2
    assert set(a.loc[a["treated"] == 1, "subject_id"]) != set(c.loc[c["treated"] == 1, "subject_id"])


def test_each_falsification_is_the_studys_own_matched_analysis(mart_rows):
    table = run_falsifications(mart_rows, seed=7, analyses=("replication",)).set_index("falsification")
    assert list(table.index) == list(FALSIFICATIONS)
    for name in FALSIFICATIONS:
        direct = run_matched_analysis(falsification_cohort(mart_rows, name, seed=7))
        hr = direct.cox.summary(robust=False).loc["group_single"]
        assert table.at[name, "hr"] == hr["hr"] and table.at[name, "pairs"] == len(direct.matching.pairs)
        assert table.at[name, "covers_null"] == (hr["lower"] <= 1 <= hr["upper"])


def test_random_halves_of_exchangeable_patients_cover_the_null_at_about_the_nominal_rate(mart_rows):
    # (the "active arm" here is treated patients: only the halves are null by design)
    halves = [run_falsifications(mart_rows, seed=s, analyses=("replication",))
              .set_index("falsification").at["placebo_halves", "covers_null"] for s in range(20)]
    assert sum(halves) >= 16  # 95 % nominal; P(<= 15 of 20 | 0.95) < 0.003


def test_an_unknown_falsification_is_refused(mart_rows):
    with pytest.raises(ValueError, match="unknown falsification"):
        falsification_cohort(mart_rows, "nope")


def _with_aligned_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """The mart rows with aligned columns that differ from the replication's: a landmark 60 days in (patients
    who die or leave before it are out, as are a fifth of the rest), its own outcome and speed."""
    landmark = 60.0
    out = rows.assign(
        landmark_day=landmark, aligned_time_days=rows["time_days"] - landmark, aligned_event=rows["event"],
        aligned_progression_speed=rows.get("progression_speed", 0.5),
        aligned_exclusion_reason=None)
    observed = out["time_days"] > landmark
    out["aligned_eligible"] = out["eligible"].astype(bool) & observed & (np.arange(len(out)) % 5 != 0)
    out["aligned_active_arm_eligible"] = out["active_arm_eligible"].where(
        out["source"] == "PRO-ACT").astype("boolean") & observed & (np.arange(len(out)) % 5 != 1)
    return out


def test_each_falsification_also_runs_under_the_aligned_rules(mart_rows):
    rows = _with_aligned_columns(mart_rows)
    table = run_falsifications(rows, seed=7)
    assert list(zip(table["analysis"], table["falsification"], strict=True)) == [
        (a, f) for a in ("replication", "aligned") for f in FALSIFICATIONS]
    aligned = table[table["analysis"] == "aligned"].set_index("falsification")
    own = analysis_cohort(rows, "aligned")
    for name in FALSIFICATIONS:
        cohort = falsification_cohort(own, name, seed=7)
        # who is analysed: the aligned eligibility of both comparisons, the landmark outcome
        expected = set(rows.loc[rows["aligned_eligible"] & (rows["treated"] == 0), "subject_id"])
        if name == "active_vs_placebo":
            expected |= set(rows.loc[rows["aligned_active_arm_eligible"].fillna(False), "subject_id"])
        assert set(cohort["subject_id"]) == expected
        direct = run_matched_analysis(cohort)
        assert aligned.at[name, "hr"] == direct.cox.summary(robust=False).loc["group_single", "hr"]
    replication = table[table["analysis"] == "replication"].set_index("falsification")
    assert (aligned["pairs"] != replication["pairs"]).all()


def test_a_missing_aligned_column_is_an_error_not_the_replications_column(mart_rows):
    with pytest.raises(ValueError, match="aligned_active_arm_eligible"):
        run_falsifications(_with_aligned_columns(mart_rows).drop(columns="aligned_active_arm_eligible"))
