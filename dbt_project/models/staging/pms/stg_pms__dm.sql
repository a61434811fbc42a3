-- PMS demographics, one row per patient. `subject_id` is the keyed pseudonym set at load; no direct identifier
-- reaches this model (initials, record numbers and birth dates were dropped at load; birth year only).
select
    USUBJID as subject_id,
    nullif(trim(STUDYID), '') as study_id,
    nullif(trim(SITEID), '') as site_id,
    BRTHYR as birth_year,
    AGE as age,
    case upper(trim(SEX)) when 'M' then 'M' when 'F' then 'F' end as sex,
    nullif(trim(SEX), '') as sex_reported,
    nullif(upper(trim(RACE)), '') as race,
    nullif(upper(trim(COUNTRY)), '') as country,
    {{ pms_date_columns('RFSTDTC', 'first_injection') }},
    {{ pms_date_columns('RFENDTC', 'last_injection') }},
    {{ pms_date_columns('DTHDTC', 'death') }},
    upper(trim(DTHFL)) = 'Y' as death_flag,
    _source_file as source_file,
    _source_line as source_line
from {{ source('raw', 'pms_dm') }}
