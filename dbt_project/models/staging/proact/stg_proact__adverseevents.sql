-- PRO-ACT adverse events as delivered (MedDRA terms); severity codings differ by trial and are normalised later.
select
    cast(subject_id as varchar) as subject_id,
    nullif(trim(Lowest_Level_Term), '') as lowest_level_term,
    nullif(trim(Preferred_Term), '') as preferred_term,
    nullif(trim(High_Level_Term), '') as high_level_term,
    nullif(trim(High_Level_Group_Term), '') as high_level_group_term,
    nullif(trim(System_Organ_Class), '') as system_organ_class,
    nullif(trim(SOC_Abbreviation), '') as soc_abbreviation,
    nullif(trim(SOC_Code), '') as soc_code,
    nullif(trim(Severity), '') as severity_reported,
    nullif(trim(Outcome), '') as outcome_reported,
    Start_Date_Delta as start_day,
    End_Date_Delta as end_day,
    rowid as source_row
from {{ source('raw', 'proact_adverseevents') }}
