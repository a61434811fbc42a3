-- One row per patient of either source (PRO-ACT subjects and PMS patients), days relative to each index date.
select
    subject_id,
    source,
    arm,
    injection_group,
    n_injections,
    age as age_at_index,
    sex,
    onset_site,
    onset_site_reported,
    onset_day,
    onset_imputed,
    diagnosis_day,
    el_escorial,
    riluzole,
    korean,
    death,
    death_day,
    death_day_unknown,
    death_record_conflict,
    followup_end_day as last_followup_day,
    unplaced_assessments
from {{ ref('int_patients') }}
