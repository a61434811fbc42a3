"""Great Expectations suites, declared as data (no GX import here: GX takes seconds to import).

Each suite names the table (asset) it guards, the SQL that selects what it validates, and a list of
expectations as `(expectation class name, keyword arguments)`. `blocking` suites guard the analysis: a failure
stops the assets downstream of the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Expectation = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Suite:
    name: str
    asset_key: tuple[str, ...]
    sql: str
    expectations: list[Expectation] = field(default_factory=list)
    blocking: bool = False
    description: str = ""


RAW_SUITES = [
    Suite(
        name="gx_alsfrs_ranges",
        asset_key=("raw", "proact_alsfrs"),
        sql="select ALSFRS_R_Total, ALSFRS_Total, R_1_Dyspnea, Q1_Speech, ALSFRS_Delta from raw.proact_alsfrs",
        expectations=[
            ("ExpectColumnValuesToBeBetween", {"column": "ALSFRS_R_Total", "min_value": 0, "max_value": 48}),
            ("ExpectColumnValuesToBeBetween", {"column": "ALSFRS_Total", "min_value": 0, "max_value": 40}),
            ("ExpectColumnValuesToBeBetween", {"column": "R_1_Dyspnea", "min_value": 0, "max_value": 4}),
            ("ExpectColumnValuesToBeBetween", {"column": "Q1_Speech", "min_value": 0, "max_value": 4}),
            # Visit days: mostly within a few years of baseline (real trials rarely exceed ~3 years).
            ("ExpectColumnValuesToBeBetween",
             {"column": "ALSFRS_Delta", "min_value": -365, "max_value": 3650, "mostly": 0.99}),
        ],
        description="PRO-ACT ALSFRS(-R) scores within their scales; visit days plausible.",
    ),
    Suite(
        name="gx_demographics",
        asset_key=("raw", "proact_demographics"),
        sql="select subject_id, Age, Sex from raw.proact_demographics",
        expectations=[
            ("ExpectColumnValuesToBeUnique", {"column": "subject_id"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "subject_id"}),
            ("ExpectColumnValuesToBeBetween", {"column": "Age", "min_value": 18, "max_value": 100}),
            ("ExpectColumnValuesToBeInSet", {"column": "Sex", "value_set": ["Male", "Female"]}),
            ("ExpectColumnMeanToBeBetween", {"column": "Age", "min_value": 45, "max_value": 65}),
        ],
        description="One row per PRO-ACT subject; age and sex plausible (PRO-ACT mean age 56.4).",
    ),
    Suite(
        name="gx_pms_demographics",
        asset_key=("raw", "pms_dm"),
        sql="select USUBJID, AGE, SEX, COUNTRY from raw.pms_dm",
        expectations=[
            ("ExpectColumnValuesToBeUnique", {"column": "USUBJID"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "USUBJID"}),
            ("ExpectColumnValuesToMatchRegex", {"column": "USUBJID", "regex": "^PMS-[0-9a-f]{20}$"}),
            ("ExpectColumnValuesToBeBetween", {"column": "AGE", "min_value": 18, "max_value": 100}),
            ("ExpectColumnValuesToBeInSet", {"column": "SEX", "value_set": ["M", "F"]}),
        ],
        description="One row per PMS patient, keys pseudonymised (PMS-<hmac>), age and sex plausible.",
    ),
    Suite(
        name="gx_death_dm_vs_ds",
        asset_key=("raw", "pms_ds"),
        sql="""
            with dm as (select USUBJID, nullif(trim(DTHDTC), '') as dm_death from raw.pms_dm),
                 ds as (select USUBJID, min(DSSTDTC) as ds_death from raw.pms_ds
                        where upper(trim(DSDECOD)) = 'DEATH' group by USUBJID)
            select coalesce(dm.USUBJID, ds.USUBJID) as USUBJID, dm_death, ds_death,
                   (dm_death is not distinct from ds_death) as agree
            from dm full join ds using (USUBJID)
            where dm_death is not null or ds_death is not null
        """,
        expectations=[("ExpectColumnValuesToBeInSet", {"column": "agree", "value_set": [True]})],
        blocking=True,
        description="Cross-source consistency: every PMS death in DM (DTHDTC) has the same date in DS, and back.",
    ),
]

MART_SUITES = [
    Suite(
        name="gx_patient_keys",
        asset_key=("marts", "dim_patient"),
        sql="select subject_id, source, sex, age_at_index from marts.dim_patient",
        expectations=[
            ("ExpectColumnValuesToBeUnique", {"column": "subject_id"}),
            ("ExpectColumnValuesToNotBeNull", {"column": "subject_id"}),
            ("ExpectColumnValuesToBeInSet", {"column": "source", "value_set": ["PRO-ACT", "PMS"]}),
            ("ExpectColumnValuesToBeInSet", {"column": "sex", "value_set": ["M", "F"]}),
            ("ExpectColumnValuesToBeBetween", {"column": "age_at_index", "min_value": 18, "max_value": 100}),
        ],
        description="One row per patient of either source; sex coded M/F; age plausible.",
    ),
    Suite(
        name="gx_alsfrs_r_totals",
        asset_key=("marts", "fct_visit"),
        sql="""select alsfrs_r_total, alsfrs_r_total_recomputed from marts.fct_visit
               where instrument = 'ALSFRS-R' and alsfrs_r_total_recomputed is not null""",
        expectations=[
            ("ExpectColumnValuesToBeBetween", {"column": "alsfrs_r_total", "min_value": 0, "max_value": 48}),
            # Real PRO-ACT: stored totals equal the item sums in ~99.8 % of rows.
            ("ExpectColumnPairValuesToBeEqual",
             {"column_A": "alsfrs_r_total", "column_B": "alsfrs_r_total_recomputed", "mostly": 0.98}),
        ],
        description="Recorded ALSFRS-R totals agree with the item sums in at least 98 % of assessments.",
    ),
    Suite(
        name="gx_cohort_analysis_ready",
        asset_key=("marts", "mart_survival_cohort"),
        sql="""select subject_id, treated, "group", time_days, event, age, sex, onset_site, alsfrs_r_baseline,
                      riluzole, disease_duration_months
               from marts.mart_survival_cohort where eligible""",
        expectations=[
            ("ExpectColumnValuesToBeUnique", {"column": "subject_id"}),
            ("ExpectColumnValuesToBeInSet", {"column": "treated", "value_set": [0, 1]}),
            ("ExpectColumnValuesToBeInSet", {"column": "event", "value_set": [0, 1]}),
            ("ExpectColumnValuesToBeInSet", {"column": "group", "value_set": ["control", "single", "multiple"]}),
            ("ExpectColumnValuesToBeBetween", {"column": "time_days", "min_value": 0}),
            ("ExpectColumnValuesToBeBetween", {"column": "alsfrs_r_baseline", "min_value": 0, "max_value": 48}),
            ("ExpectColumnValuesToBeBetween",
             {"column": "disease_duration_months", "min_value": 0, "max_value": 24}),
            *[("ExpectColumnValuesToNotBeNull", {"column": c}) for c in
              ("time_days", "event", "age", "sex", "onset_site", "alsfrs_r_baseline", "riluzole",
               "disease_duration_months")],
        ],
        blocking=True,
        description="Eligible patients carry every covariate the propensity model and survival analysis need.",
    ),
    Suite(
        name="gx_eligibility_counts",
        asset_key=("marts", "mart_survival_cohort"),
        sql="""select source,
                      count(*) filter (where eligible) as n_eligible,
                      count(*) filter (where eligible) / count(*)::double as eligible_fraction
               from marts.mart_survival_cohort
               where source = 'PMS' or crit_placebo_arm  -- PRO-ACT: the placebo subjects are the candidates
               group by source""",
        expectations=[
            ("ExpectTableRowCountToEqual", {"value": 2}),
            ("ExpectColumnValuesToBeBetween", {"column": "n_eligible", "min_value": 1}),
            # Paper: 170 of 257 PMS patients (66 %), 1,224 of 2,912 PRO-ACT placebo subjects (42 %).
            ("ExpectColumnValuesToBeBetween", {"column": "eligible_fraction", "min_value": 0.2, "max_value": 0.95}),
        ],
        blocking=True,
        description="Both sources contribute eligible patients, in plausible proportions (paper: 66 % PMS, 42 % PRO-ACT placebo).",
    ),
]

SUITES = RAW_SUITES + MART_SUITES
