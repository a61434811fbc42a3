-- One row per PRO-ACT subject appearing in any file the marts use, with the per-subject facts combined from
-- several rows (ALS history rows, duplicated death records).
with ids as (
    select subject_id from {{ ref('stg_proact__demographics') }}
    union select subject_id from {{ ref('stg_proact__treatment') }}
    union select subject_id from {{ ref('stg_proact__alsfrs') }}
    union select subject_id from {{ ref('stg_proact__deathdata') }}
    union select subject_id from {{ ref('stg_proact__alshistory') }}
    union select subject_id from {{ ref('stg_proact__riluzole') }}
    union select subject_id from {{ ref('stg_proact__elescorial') }}
    union select subject_id from {{ ref('stg_proact__fvc') }}
    union select subject_id from {{ ref('stg_proact__adverseevents') }}
    union select subject_id from {{ ref('stg_proact__demographics_quarantined') }}
),
quarantined as (
    select subject_id, quarantined_file || ' line ' || quarantined_line || ': ' || quarantine_reasons
        as data_quality_issue
    from {{ ref('stg_proact__demographics_quarantined') }}
),
demographics as (
    select subject_id,
           first(coalesce(age, -date_of_birth_day / 365.25) order by demographics_day nulls last) as age,
           first(sex order by sex nulls last) as sex,
           count(distinct sex) > 1 as sex_conflict
    from {{ ref('stg_proact__demographics') }}
    group by subject_id
),
arm as (
    select subject_id,
           first(arm order by arm nulls last) as arm,
           min(treatment_group_day) as treatment_group_day,
           count(distinct lower(arm_reported)) > 1 as arm_conflict
    from {{ ref('stg_proact__treatment') }}
    group by subject_id
),
history as (
    select subject_id,
           min(onset_day) as onset_day,
           min(diagnosis_day) as diagnosis_day,
           first(onset_site_reported order by source_row) filter (where onset_site_reported is not null)
               as onset_site_reported
    from {{ ref('stg_proact__alshistory') }}
    group by subject_id
),
death as (
    select subject_id,
           bool_or(died) as died,
           min(death_day) filter (where died) as death_day,
           count(distinct death_day) > 1 or count(distinct died) > 1 as death_record_conflict
    from {{ ref('stg_proact__deathdata') }}
    group by subject_id
),
riluzole as (
    select subject_id, bool_or(used_riluzole) as riluzole
    from {{ ref('stg_proact__riluzole') }}
    group by subject_id
),
el_escorial as (
    select subject_id, first(el_escorial order by el_escorial_day nulls last) as el_escorial
    from {{ ref('stg_proact__elescorial') }}
    group by subject_id
)
select
    ids.subject_id,
    arm.arm,
    arm.treatment_group_day,
    coalesce(arm.arm_conflict, false) as arm_conflict,
    demographics.age,
    -- Rows that disagree on sex leave it unknown (the covariate cannot be evaluated), flagged.
    case when not demographics.sex_conflict then demographics.sex end as sex,
    coalesce(demographics.sex_conflict, false) as sex_conflict,
    history.onset_site_reported,
    history.onset_day as onset_day_reported,
    history.diagnosis_day,
    coalesce(history.onset_day, history.diagnosis_day - {{ var('onset_before_diagnosis_days') }}) as onset_day,
    history.onset_day is null and history.diagnosis_day is not null as onset_imputed,
    el_escorial.el_escorial,
    riluzole.riluzole,
    death.died,
    death.death_day,
    coalesce(death.death_record_conflict, false) as death_record_conflict,
    quarantined.data_quality_issue
from ids
left join demographics using (subject_id)
left join arm using (subject_id)
left join history using (subject_id)
left join death using (subject_id)
left join riluzole using (subject_id)
left join el_escorial using (subject_id)
left join quarantined using (subject_id)
