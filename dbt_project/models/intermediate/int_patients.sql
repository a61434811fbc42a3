-- One row per patient of either source, harmonised: days from the index date (PRO-ACT trial day 0; PMS first
-- injection), covariates in one vocabulary, baseline ALSFRS-R and the days that bound follow-up.
with visits as (
    select
        subject_id,
        max(visit_day) as last_alsfrs_day,
        -- The mean spacing of the patient's assessment days: a trial follows its patients to their next planned
        -- visit, so a death within one spacing of the last visit happened under observation.
        (max(visit_day) - min(visit_day)) / nullif(count(distinct visit_day) - 1, 0) as alsfrs_visit_spacing_days,
        max(visit_day) filter (where instrument = 'ALSFRS-R') as last_alsfrs_r_day,
        count(distinct visit_day) filter (where instrument = 'ALSFRS-R' and visit_day > 0
                                          and coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) is not null)
            as n_alsfrs_r_after_index,
        -- The day of the second ALSFRS-R assessment after the index (the aligned analysis' landmark).
        list_sort(list(distinct visit_day) filter (where instrument = 'ALSFRS-R' and visit_day > 0
                       and coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) is not null))[2]
            as second_alsfrs_r_day,
        -- PRO-ACT baseline: the earliest assessment, which must carry an ALSFRS-R total.
        first(alsfrs_r_total order by visit_day, source_row) as first_assessment_alsfrs_r_total,
        -- PMS baseline: the latest ALSFRS-R on or before the first injection, else the first within 14 days after.
        first(coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) order by visit_day desc, source_row desc)
            filter (where visit_day <= 0 and coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) is not null)
            as pre_index_alsfrs_r_total,
        first(coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) order by visit_day, source_row)
            filter (where visit_day between 1 and 14 and coalesce(alsfrs_r_total, alsfrs_r_total_recomputed) is not null)
            as early_alsfrs_r_total
    from {{ ref('int_alsfrs_assessments') }}
    group by subject_id
),
unplaced as (
    select subject_id, count(*) as unplaced_assessments
    from {{ ref('stg_proact__alsfrs') }}
    where alsfrs_day is null
    group by subject_id
),
pms_last_ae as (
    select subject_id, max(onset_day) as last_ae_day
    from {{ ref('int_adverse_events') }}
    where source = 'PMS'
    group by subject_id
),
proact as (
    select
        s.subject_id,
        'PRO-ACT' as source,
        s.arm,
        s.arm_conflict,
        s.data_quality_issue,
        null::varchar as injection_group,
        null::integer as n_injections,
        s.age,
        s.sex,
        s.onset_site_reported,
        s.onset_day,
        s.onset_imputed,
        s.diagnosis_day,
        s.el_escorial,
        s.riluzole,
        null::boolean as korean,
        coalesce(s.died, false) as death,
        s.death_day,
        s.died and s.death_day is null as death_day_unknown,
        s.death_record_conflict,
        v.first_assessment_alsfrs_r_total as alsfrs_r_baseline,
        v.n_alsfrs_r_after_index,
        v.second_alsfrs_r_day,
        null::integer as second_injection_day,
        v.last_alsfrs_day,
        v.alsfrs_visit_spacing_days,
        -- Paper: alive (or death day unknown) subjects are censored at their last ALSFRS assessment.
        case when s.died and s.death_day is not null then s.death_day else v.last_alsfrs_day end as followup_end_day,
        null::double as tpv_day,
        coalesce(u.unplaced_assessments, 0) as unplaced_assessments
    from {{ ref('int_proact__subjects') }} as s
    left join visits as v using (subject_id)
    left join unplaced as u using (subject_id)
),
pms as (
    select
        p.subject_id,
        'PMS' as source,
        'treated' as arm,
        false as arm_conflict,
        null::varchar as data_quality_issue,
        p.injection_group,
        p.n_injections,
        p.age,
        p.sex,
        lower(p.onset_location) as onset_site_reported,
        p.onset_date - p.index_date as onset_day,
        p.onset_imputed,
        p.diagnosis_date - p.index_date as diagnosis_day,
        p.el_escorial,
        p.riluzole,
        p.korean,
        p.death_date is not null as death,
        p.death_date - p.index_date as death_day,
        false as death_day_unknown,
        p.death_record_conflict,
        coalesce(v.pre_index_alsfrs_r_total, v.early_alsfrs_r_total) as alsfrs_r_baseline,
        v.n_alsfrs_r_after_index,
        v.second_alsfrs_r_day,
        p.second_injection_date - p.index_date as second_injection_day,
        v.last_alsfrs_day,
        v.alsfrs_visit_spacing_days,
        -- Follow-up ends at death, else at the latest of last contact, last ALSFRS-R, last AE onset, last injection.
        coalesce(
            p.death_date - p.index_date,
            greatest(p.last_contact_date - p.index_date, v.last_alsfrs_r_day, a.last_ae_day,
                     p.last_injection_date - p.index_date)
        ) as followup_end_day,
        p.tracheostomy_or_pav_date - p.index_date as tpv_day,
        0 as unplaced_assessments
    from {{ ref('int_pms__patients') }} as p
    left join visits as v using (subject_id)
    left join pms_last_ae as a using (subject_id)
),
-- PMS patients whose dm.csv record was quarantined: no other row of theirs was loaded; they stay in the patient
-- list (and the cohort flow) as excluded for data quality.
pms_quarantined as (
    select
        q.subject_id, 'PMS' as source, 'treated' as arm, false as arm_conflict,
        q.quarantined_file || ' line ' || q.quarantined_line || ': ' || q.quarantine_reasons as data_quality_issue,
        null::varchar as injection_group, null::integer as n_injections, null::double as age, null::varchar as sex,
        null::varchar as onset_site_reported, null::integer as onset_day, null::boolean as onset_imputed,
        null::integer as diagnosis_day, null::varchar as el_escorial, null::boolean as riluzole,
        null::boolean as korean, false as death, null::integer as death_day, false as death_day_unknown,
        false as death_record_conflict, null::double as alsfrs_r_baseline, null::bigint as n_alsfrs_r_after_index,
        null::double as second_alsfrs_r_day, null::integer as second_injection_day,
        null::double as last_alsfrs_day, null::double as alsfrs_visit_spacing_days, null::double as followup_end_day, null::double as tpv_day,
        0 as unplaced_assessments
    from {{ ref('stg_pms__dm_quarantined') }} as q
    where q.subject_id not in (select subject_id from pms)
)
select
    *,
    case when onset_site_reported = 'bulbar' then 'bulbar'
         when onset_site_reported is not null then 'limb' end as onset_site,
    (0 - onset_day) / {{ var('days_per_month') }} as disease_duration_months,
    -- Paper: (48 - baseline ALSFRS-R) / months since onset, onset taken as diagnosis - 12 months
    -- (the recorded onset where there is no diagnosis date).
    case when coalesce(diagnosis_day - {{ var('onset_before_diagnosis_days') }}, onset_day) < 0 then
        (48 - alsfrs_r_baseline)
        / ((0 - coalesce(diagnosis_day - {{ var('onset_before_diagnosis_days') }}, onset_day))
           / {{ var('days_per_month') }})
    end as progression_speed
from (select * from proact union all by name select * from pms union all by name select * from pms_quarantined)
