"""Every GX suite passes on well-formed tables and fails on a crafted bad input of its own."""

from __future__ import annotations

import duckdb
import pytest

from expectations.suites import SUITES
from expectations.validate import validate

pytestmark = pytest.mark.xdist_group("gx")  # one worker pays GX's import time

GOOD_TABLES = {
    "raw.proact_alsfrs": """select * from (values (40, null, 4, 4, 0), (35, 30.5, 3, 3.5, 60))
                            t(ALSFRS_R_Total, ALSFRS_Total, R_1_Dyspnea, Q1_Speech, ALSFRS_Delta)""",
    "raw.proact_demographics": """select * from (values (1, 55, 'Male'), (2, 60, 'Female'), (3, 50, 'Male'))
                                  t(subject_id, Age, Sex)""",
    "raw.pms_dm": """select * from (values ('PMS-0123456789abcdef0123', 50, 'M', 'KOR', '2019-01-02'),
                                           ('PMS-0123456789abcdef0124', 61, 'F', 'USA', null))
                     t(USUBJID, AGE, SEX, COUNTRY, DTHDTC)""",
    "raw.pms_ds": """select * from (values ('PMS-0123456789abcdef0123', 'DEATH', '2019-01-02'),
                                           ('PMS-0123456789abcdef0124', 'ONGOING', '2021-05-01'))
                     t(USUBJID, DSDECOD, DSSTDTC)""",
    "marts.dim_patient": """select * from (values ('1', 'PRO-ACT', 'M', 55.0), ('PMS-a', 'PMS', 'F', 60.0))
                            t(subject_id, source, sex, age_at_index)""",
    "marts.fct_visit": """select * from (values ('ALSFRS-R', 40, 40), ('ALSFRS-R', 30, 30), ('ALSFRS', 20, null))
                          t(instrument, alsfrs_r_total, alsfrs_r_total_recomputed)""",
    "marts.mart_survival_cohort": """select * from (values
        ('1', 0, 'control', 300.0, 1, 55.0, 'M', 'limb', 38, 1, 12.0, true, 'PRO-ACT', true),
        ('2', 0, 'control', 100.0, 0, 60.0, 'F', 'bulbar', 30, 0, 20.0, false, 'PRO-ACT', true),
        ('3', 0, null, 100.0, 0, 60.0, 'F', 'bulbar', 30, 0, 20.0, false, 'PRO-ACT', false),
        ('4', 0, null, 100.0, 0, 60.0, 'F', 'bulbar', 30, 0, 20.0, false, 'PRO-ACT', false),
        ('PMS-a', 1, 'single', 900.0, 0, 50.0, 'F', 'limb', 40, 1, 10.0, true, 'PMS', null),
        ('PMS-b', 1, 'multiple', 50.0, 1, 50.0, 'F', 'limb', 40, 1, 30.0, false, 'PMS', null))
        t(subject_id, treated, "group", time_days, event, age, sex, onset_site, alsfrs_r_baseline, riluzole,
          disease_duration_months, eligible, source, crit_placebo_arm)""",
}

# One crafted defect per suite: (table, SQL applied after the good table exists).
DEFECTS = {
    "gx_alsfrs_ranges": "update raw.proact_alsfrs set ALSFRS_R_Total = 50 where ALSFRS_R_Total = 35",
    "gx_demographics": "update raw.proact_demographics set subject_id = 1",
    "gx_pms_demographics": "update raw.pms_dm set USUBJID = '12-3456'",
    "gx_death_dm_vs_ds": "update raw.pms_ds set DSSTDTC = '2019-01-09' where DSDECOD = 'DEATH'",
    "gx_patient_keys": "update marts.dim_patient set sex = 'Male'",
    "gx_alsfrs_r_totals": "update marts.fct_visit set alsfrs_r_total_recomputed = 41 where alsfrs_r_total = 40",
    "gx_cohort_analysis_ready": "update marts.mart_survival_cohort set riluzole = null where subject_id = '1'",
    "gx_eligibility_counts": "update marts.mart_survival_cohort set eligible = false where source = 'PMS'",
}


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema raw; create schema marts")
    for name, sql in GOOD_TABLES.items():
        con.execute(f"create table {name} as {sql}")
    return con


def test_every_suite_has_a_defect_case():
    assert set(DEFECTS) == {s.name for s in SUITES}


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_suite_passes_on_good_tables(suite):
    outcome = validate(suite, _warehouse())
    assert outcome.success, [o for o in outcome.outcomes if not o.success]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_suite_fails_on_its_defect(suite):
    con = _warehouse()
    con.execute(DEFECTS[suite.name])
    outcome = validate(suite, con)
    assert not outcome.success
    assert outcome.failed(), "a failing suite names the expectations that failed"
