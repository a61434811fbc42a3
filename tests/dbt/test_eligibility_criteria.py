"""Eligibility cannot be fooled by missing data: for each criterion of mart_survival_cohort, an eligible patient
of each source whose input for it is made unknown is excluded, at its own cohort-flow step, with the flag false
(never NULL, never passed). A real PRO-ACT download has 1,681 subjects outside TREATMENT: an unknown arm once
passed as placebo."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import pytest

from als_eca.ingest import load_all
from als_eca.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.xdist_group("dbt")

PROJECT = DBT_PROJECT_DIR
SEED_STEPS = PROJECT / "seeds" / "cohort_exclusion_steps.csv"


def _dbt(args: list[str], warehouse: Path, target: Path, monkeypatch) -> None:
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("ALS_ECA_WAREHOUSE", str(warehouse))
    result = dbtRunner().invoke([*args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
                                 "--target-path", str(target), "--quiet"])
    statuses = {r["status"] for r in json.loads((target / "run_results.json").read_text())["results"]}
    assert result.success and statuses <= {"success"}, statuses


def _build_cohort(raw: Path, folder: Path, monkeypatch) -> Path:
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(raw, warehouse)
    _dbt(["seed"], warehouse, folder / "target", monkeypatch)
    _dbt(["run", "--select", "+mart_survival_cohort"], warehouse, folder / "target", monkeypatch)
    return warehouse


def _cohort(warehouse: Path) -> dict[str, dict]:
    with duckdb.connect(str(warehouse)) as con:  # (dbt, in this process, still holds a read-write connection)
        df = con.execute("SELECT * FROM marts.mart_survival_cohort").df()
    return {row["subject_id"]: row for row in df.to_dict("records")}


# (source, what is made unknown, expected exclusion reason, the criterion flag that must be false)
PRO_ACT_CASES = [
    ("no TREATMENT row", "trial arm unknown", "crit_placebo_arm"),
    ("TREATMENT rows name both arms", "trial arm conflicting", "crit_placebo_arm"),
    ("no onset and no diagnosis delta", "symptom onset unknown", "crit_disease_duration_lt_24m"),
    ("no ALSFRS-R total at the first assessment", "no ALSFRS-R total at baseline", "crit_alsfrs_r_baseline"),
    ("a death day before day 0", "follow-up ends before time zero", "crit_followup_known"),
    ("no age and no date of birth", "age unknown", "crit_covariates_complete"),
    ("no sex", "sex unknown", "crit_covariates_complete"),
    ("no onset site", "onset site unknown", "crit_covariates_complete"),
    ("no RILUZOLE row", "riluzole use unknown", "crit_covariates_complete"),
    ("DEMOGRAPHICS record quarantined", "patient record quarantined (data quality)", "crit_data_quality"),
]
PMS_CASES = [
    ("no onset and no diagnosis history", "symptom onset unknown", "crit_disease_duration_lt_24m"),
    ("no ALSFRS-R after the first injection", "fewer than two ALSFRS-R assessments after the first injection",
     "crit_two_alsfrs_r_after_first_injection"),
    ("no injection in ex", "no injection recorded", "crit_two_or_more_injections"),
    ("no ALSFRS-R up to 14 days after the first injection", "no ALSFRS-R total at baseline",
     "crit_alsfrs_r_baseline"),
    ("a death date before the first injection", "follow-up ends before time zero", "crit_followup_known"),
    ("no age", "age unknown", "crit_covariates_complete"),
    ("no sex", "sex unknown", "crit_covariates_complete"),
    ("no onset site", "onset site unknown", "crit_covariates_complete"),
    ("dm record quarantined", "patient record quarantined (data quality)", "crit_data_quality"),
]


def _break_proact(con, case: str, s: str) -> None:
    sid = int(s)
    sql = {
        "no TREATMENT row": ["DELETE FROM raw.proact_treatment WHERE subject_id = $s"],
        "TREATMENT rows name both arms": [
            "INSERT INTO raw.proact_treatment SELECT * REPLACE ('Active' AS Study_Arm) FROM raw.proact_treatment "
            "WHERE subject_id = $s"],
        "no onset and no diagnosis delta": [
            "UPDATE raw.proact_alshistory SET Onset_Delta = NULL, Diagnosis_Delta = NULL WHERE subject_id = $s"],
        "no ALSFRS-R total at the first assessment": [
            "UPDATE raw.proact_alsfrs SET ALSFRS_R_Total = NULL WHERE subject_id = $s"],
        "a death day before day 0": [
            "DELETE FROM raw.proact_deathdata WHERE subject_id = $s",
            "INSERT INTO raw.proact_deathdata (subject_id, Subject_Died, Death_Days, _source_file) "
            "VALUES ($s, 'Yes', -5, 'PROACT_DEATHDATA.csv')"],
        "no age and no date of birth": [
            "UPDATE raw.proact_demographics SET Age = NULL, Date_of_Birth = NULL WHERE subject_id = $s"],
        "no sex": ["UPDATE raw.proact_demographics SET Sex = NULL WHERE subject_id = $s"],
        "no onset site": [
            "UPDATE raw.proact_alshistory SET Site_of_Onset = NULL, Site_of_Onset___Bulbar = NULL, "
            "Site_of_Onset___Limb = NULL, Site_of_Onset___Limb_and_Bulbar = NULL, Site_of_Onset___Other = NULL, "
            "Site_of_Onset___Spine = NULL WHERE subject_id = $s"],
        "no RILUZOLE row": ["DELETE FROM raw.proact_riluzole WHERE subject_id = $s"],
        "DEMOGRAPHICS record quarantined": [
            "DELETE FROM raw.proact_demographics WHERE subject_id = $s",
            "INSERT INTO raw.quarantine VALUES ('proact_demographics', 'PROACT_DEMOGRAPHICS.csv', 9, 'Age', '150', "
            "'age outside 0-120', $s::VARCHAR)"],
    }[case]
    for statement in sql:
        con.execute(statement, {"s": sid})


def _break_pms(con, case: str, p: str) -> None:
    first = "(SELECT min(EXSTDTC::DATE) FROM raw.pms_ex WHERE USUBJID = $p)"
    sql = {
        "no onset and no diagnosis history": [
            "DELETE FROM raw.pms_mh WHERE USUBJID = $p AND MHCAT IN ('ALS SYMPTOM ONSET', 'ALS DIAGNOSIS')"],
        "no ALSFRS-R after the first injection": [f"DELETE FROM raw.pms_qs WHERE USUBJID = $p AND QSDTC::DATE > {first}"],
        "no injection in ex": ["DELETE FROM raw.pms_ex WHERE USUBJID = $p"],
        "no ALSFRS-R up to 14 days after the first injection": [
            f"DELETE FROM raw.pms_qs WHERE USUBJID = $p AND QSDTC::DATE <= {first} + 14"],
        "a death date before the first injection": [
            f"UPDATE raw.pms_dm SET DTHDTC = strftime({first} - 30, '%Y-%m-%d'), DTHFL = 'Y' WHERE USUBJID = $p",
            f"UPDATE raw.pms_ds SET DSSTDTC = strftime({first} - 30, '%Y-%m-%d') "
            "WHERE USUBJID = $p AND DSDECOD = 'DEATH'"],
        "no age": ["UPDATE raw.pms_dm SET AGE = NULL WHERE USUBJID = $p"],
        "no sex": ["UPDATE raw.pms_dm SET SEX = NULL WHERE USUBJID = $p"],
        "no onset site": ["UPDATE raw.pms_mh SET MHLOC = NULL WHERE USUBJID = $p"],
        "dm record quarantined": [
            "DELETE FROM raw.pms_dm WHERE USUBJID = $p",
            "INSERT INTO raw.quarantine VALUES ('pms_dm', 'dm.csv', 4, 'AGE', '130', 'age outside 0-120', $p)"],
    }[case]
    for statement in sql:
        con.execute(statement, {"p": p})


@pytest.fixture(scope="module")
def loaded(medium_data, tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """The medium sample's raw tables (a DuckDB file the cases copy and break) and its cohort as built."""
    folder = tmp_path_factory.mktemp("loaded")
    raw = folder / "loaded.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALS_ECA_PSEUDONYM_KEY", "test-key-not-secret")
        with duckdb.connect(str(raw)) as con:
            load_all(con, medium_data / "proact", medium_data / "pms")
        (folder / "before").mkdir()
        return raw, _cohort(_build_cohort(raw, folder / "before", mp))


@pytest.fixture(scope="module")
def cohorts(loaded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("criteria")
    raw, before = loaded
    with pytest.MonkeyPatch.context() as mp:
        eligible = {src: sorted(k for k, r in before.items() if r["eligible"] and r["source"] == src)
                    for src in ("PRO-ACT", "PMS")}
        assert len(eligible["PRO-ACT"]) >= len(PRO_ACT_CASES) and len(eligible["PMS"]) >= len(PMS_CASES)
        chosen = {"PRO-ACT": dict(zip([c[0] for c in PRO_ACT_CASES], eligible["PRO-ACT"], strict=False)),
                  "PMS": dict(zip([c[0] for c in PMS_CASES], eligible["PMS"], strict=False))}
        broken = folder / "broken.duckdb"
        shutil.copy(raw, broken)
        with duckdb.connect(str(broken)) as con:
            for case, subject in chosen["PRO-ACT"].items():
                _break_proact(con, case, subject)
            for case, patient in chosen["PMS"].items():
                _break_pms(con, case, patient)
        (folder / "after").mkdir()
        after = _cohort(_build_cohort(broken, folder / "after", mp))
        # An export without medication records leaves every patient's riluzole use unknown, never "not used".
        no_cm = folder / "no_cm.duckdb"
        shutil.copy(raw, no_cm)
        with duckdb.connect(str(no_cm)) as con:
            con.execute("DELETE FROM raw.pms_cm")
        (folder / "no_cm").mkdir()
        without_cm = _cohort(_build_cohort(no_cm, folder / "no_cm", mp))
    return before, after, chosen, without_cm


@pytest.mark.parametrize(("source", "case", "reason", "flag"),
                         [("PRO-ACT", *c) for c in PRO_ACT_CASES] + [("PMS", *c) for c in PMS_CASES],
                         ids=[f"PRO-ACT: {c[0]}" for c in PRO_ACT_CASES] + [f"PMS: {c[0]}" for c in PMS_CASES])
def test_an_unknown_input_fails_its_criterion_at_its_own_step(cohorts, source, case, reason, flag):
    before, after, chosen, _ = cohorts
    subject = chosen[source][case]
    assert before[subject]["eligible"]
    row = after[subject]
    assert not row["eligible"], (case, row)
    assert row["exclusion_reason"] == reason, (case, row["exclusion_reason"])
    assert row[flag] is False or row[flag] == False, (flag, row[flag])  # noqa: E712 (numpy bool)


def test_every_other_patient_keeps_its_eligibility(cohorts):
    before, after, chosen, _ = cohorts
    touched = {s for cases in chosen.values() for s in cases.values()}
    changed = {k for k in before if k not in touched and before[k]["eligible"] != after[k]["eligible"]}
    assert not changed


def test_an_export_without_medication_records_leaves_riluzole_unknown(cohorts):
    before, _, _, without_cm = cohorts
    pms = [r for r in without_cm.values() if r["source"] == "PMS"]
    assert all(r["riluzole"] is None or r["riluzole"] != r["riluzole"] for r in pms)  # NULL (NaN in pandas)
    assert not any(r["eligible"] for r in pms)
    reasons = {r["exclusion_reason"] for r in pms if before[r["subject_id"]]["eligible"]}
    assert reasons == {"riluzole use unknown"}


def _exclusion_case(aligned: bool) -> str:
    """The CASE the macro `exclusion_reason` writes for one analysis (rendered with Jinja, as dbt does)."""
    import jinja2

    macro = (PROJECT / "macros" / "exclusion_reason.sql").read_text()
    return jinja2.Environment().from_string(macro + "{{ exclusion_reason(aligned=flag) }}").render(flag=aligned)


@pytest.mark.parametrize("analysis", ["replication", "aligned"])
def test_every_exclusion_reason_is_a_step_of_the_seed_in_order(analysis):
    import pandas as pd

    steps = pd.read_csv(SEED_STEPS)
    assert steps["step_order"].tolist() == list(range(1, len(steps) + 1))
    own = steps[steps["analyses"].str.split().apply(lambda a: analysis in a)]["exclusion_reason"].tolist()
    block = _exclusion_case(aligned=analysis == "aligned")
    written = [r for r in steps["exclusion_reason"] if f"'{r}'" in block]
    assert written == own, f"the {analysis} CASE names exactly the seed's steps of that analysis"
    positions = [block.index(f"'{r}'") for r in own]
    assert positions == sorted(positions), f"the {analysis} CASE applies the steps in the seed's order"
    sql = (PROJECT / "models" / "marts" / "mart_survival_cohort.sql").read_text()
    column = "aligned_exclusion_reason" if analysis == "aligned" else "exclusion_reason"
    call = "{{ exclusion_reason(aligned=true) }}" if analysis == "aligned" else "{{ exclusion_reason() }}"
    assert f"{call} as {column}" in sql


# The aligned analysis (docs/study_design.md): the ALSFRS-R rule and a landmark for both arms, deaths counted only
# within the observation window. Each case: a control the paper's rules keep, and what the aligned rules make of it.
ALIGNED_CASES = ["one ALSFRS-R assessment after day 0", "death before the landmark",
                 "death after the observation window", "death within one visit spacing of the last visit"]


@pytest.fixture(scope="module")
def aligned(loaded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("aligned")
    raw = folder / "broken.duckdb"
    shutil.copy(loaded[0], raw)
    before = loaded[1]
    with pytest.MonkeyPatch.context() as mp:
        candidates = sorted(k for k, r in before.items() if r["aligned_eligible"] and r["source"] == "PRO-ACT"
                            and r["event"] == 0 and r["landmark_day"] < r["time_days"] - 31)
        chosen = dict(zip(ALIGNED_CASES, candidates, strict=False))
        with duckdb.connect(str(raw)) as con:
            for case, subject in chosen.items():
                row = before[subject]
                sql = {
                    "one ALSFRS-R assessment after day 0": [
                        "DELETE FROM raw.proact_alsfrs WHERE subject_id = $s AND ALSFRS_Delta > 0 AND ALSFRS_Delta "
                        "<> (SELECT min(ALSFRS_Delta) FROM raw.proact_alsfrs WHERE subject_id = $s AND ALSFRS_Delta > 0)"],
                    "death before the landmark": [
                        "DELETE FROM raw.proact_deathdata WHERE subject_id = $s",
                        f"INSERT INTO raw.proact_deathdata (subject_id, Subject_Died, Death_Days, _source_file) "
                        f"VALUES ($s, 'Yes', {int(row['landmark_day']) - 1}, 'PROACT_DEATHDATA.csv')"],
                    "death after the observation window": [
                        "DELETE FROM raw.proact_deathdata WHERE subject_id = $s",
                        f"INSERT INTO raw.proact_deathdata (subject_id, Subject_Died, Death_Days, _source_file) "
                        f"VALUES ($s, 'Yes', {math.floor(row['observation_end_day']) + 1}, 'PROACT_DEATHDATA.csv')"],
                    "death within one visit spacing of the last visit": [
                        "DELETE FROM raw.proact_deathdata WHERE subject_id = $s",
                        f"INSERT INTO raw.proact_deathdata (subject_id, Subject_Died, Death_Days, _source_file) "
                        f"VALUES ($s, 'Yes', {math.floor(row['observation_end_day'])}, 'PROACT_DEATHDATA.csv')"],
                }[case]
                for statement in sql:
                    con.execute(statement, {"s": int(subject)})
        (folder / "after").mkdir()
        after = _cohort(_build_cohort(raw, folder / "after", mp))
    return before, after, chosen


def test_the_aligned_rules_apply_the_alsfrs_rule_and_the_landmark_to_controls(aligned):
    before, after, chosen = aligned
    one_visit = after[chosen["one ALSFRS-R assessment after day 0"]]
    assert one_visit["eligible"] and not one_visit["aligned_eligible"]  # the paper asks it of treated patients only
    assert one_visit["aligned_exclusion_reason"] == "fewer than two ALSFRS-R assessments after trial day 0"
    assert not one_visit["crit_two_alsfrs_r_after_index"]
    early = after[chosen["death before the landmark"]]
    assert early["eligible"] and early["event"] == 1  # immortal time: the paper's rules keep this control's death
    assert not early["aligned_eligible"]
    assert early["aligned_exclusion_reason"] == "died or left observation before the landmark"


def test_the_aligned_outcome_counts_deaths_only_within_the_observation_window(aligned):
    before, after, chosen = aligned
    subject = chosen["death after the observation window"]
    late = after[subject]
    assert late["event"] == 1 and late["time_days"] == math.floor(before[subject]["observation_end_day"]) + 1
    assert late["aligned_eligible"] and late["aligned_event"] == 0
    assert late["aligned_time_days"] == before[subject]["time_days"] - late["landmark_day"]  # censored at the visit
    # The window: the last visit plus the patient's mean visit spacing, at least 30 days.
    last = before[subject]["time_days"]
    assert before[subject]["observation_end_day"] >= last + 30


def test_a_death_before_the_next_planned_visit_counts_in_the_aligned_outcome(aligned):
    before, after, chosen = aligned
    subject = chosen["death within one visit spacing of the last visit"]
    row, death = after[subject], math.floor(before[subject]["observation_end_day"])
    assert row["aligned_eligible"] and row["aligned_event"] == 1
    assert row["aligned_time_days"] == death - row["landmark_day"]


def test_aligned_eligibility_implies_the_papers_and_time_starts_at_the_landmark(aligned):
    before, _, _ = aligned
    rows = [r for r in before.values() if r["aligned_eligible"]]
    assert rows and all(r["eligible"] for r in rows)
    assert all(r["aligned_time_days"] == r["time_days_within_followup"] - r["landmark_day"] > 0 for r in rows)
    pms = [r for r in rows if r["source"] == "PMS"]
    assert pms and all(r["landmark_day"] > 0 for r in pms)
