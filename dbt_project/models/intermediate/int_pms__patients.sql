-- One row per PMS patient: index date (first injection), onset and diagnosis (partial dates imputed, flagged),
-- injection pattern, riluzole, death and the dates that bound follow-up.
with injections as (
    select subject_id,
           min(injection_date) as first_injection_date,
           max(injection_date) as last_injection_date,
           min(injection_date) filter (where injection_number = 2) as second_injection_date,
           count(*) as n_injections,
           count(*) filter (where category = 'booster') as n_boosters
    from {{ ref('int_pms__injections') }}
    group by subject_id
),
dm as (
    select * from {{ ref('stg_pms__dm') }}
),
indexed as (
    select dm.subject_id,
           coalesce(injections.first_injection_date, dm.first_injection_date) as index_date,
           injections.first_injection_date is distinct from dm.first_injection_date as index_date_conflict
    from dm left join injections using (subject_id)
),
history as (
    select mh.subject_id,
           first(mh.start_date_earliest order by mh.start_date_earliest) filter (where category = 'ALS SYMPTOM ONSET')
               as onset_earliest,
           first(mh.start_date_latest order by mh.start_date_earliest) filter (where category = 'ALS SYMPTOM ONSET')
               as onset_latest,
           first(mh.start_date_precision order by mh.start_date_earliest) filter (where category = 'ALS SYMPTOM ONSET')
               as onset_precision,
           first(mh.onset_location order by mh.start_date_earliest) filter (where category = 'ALS SYMPTOM ONSET')
               as onset_location,
           first(mh.start_date_earliest order by mh.start_date_earliest) filter (where category = 'ALS DIAGNOSIS')
               as diagnosis_earliest,
           first(mh.start_date_precision order by mh.start_date_earliest) filter (where category = 'ALS DIAGNOSIS')
               as diagnosis_precision,
           first(mh.el_escorial) filter (where category = 'EL ESCORIAL') as el_escorial
    from {{ ref('stg_pms__mh') }} as mh
    group by mh.subject_id
),
imputed as (
    -- Partial dates: a missing day is taken as the 15th, a missing month as 1 July (mid-period), never after the
    -- first injection. A missing onset is diagnosis - 365 days (the paper's rule).
    select subject_id,
           case onset_precision when 'day' then onset_earliest
                                when 'month' then onset_earliest + interval 14 day
                                when 'year' then make_date(year(onset_earliest), 7, 1) end as onset_mid,
           case diagnosis_precision when 'day' then diagnosis_earliest
                                    when 'month' then diagnosis_earliest + interval 14 day
                                    when 'year' then make_date(year(diagnosis_earliest), 7, 1) end as diagnosis_mid
    from history
),
medication as (
    select subject_id, bool_or(medication = 'RILUZOLE') as riluzole
    from {{ ref('stg_pms__cm') }}
    group by subject_id
),
disposition as (
    select subject_id,
           min(disposition_date) filter (where disposition = 'DEATH') as ds_death_date,
           max(disposition_date) as last_contact_date
    from {{ ref('stg_pms__ds') }}
    group by subject_id
),
milestones as (
    select subject_id,
           min(procedure_date_earliest) filter (where procedure in ('TRACHEOSTOMY', 'PERMANENT ASSISTED VENTILATION'))
               as tracheostomy_or_pav_date
    from {{ ref('stg_pms__pr') }}
    group by subject_id
)
select
    dm.subject_id,
    dm.age,
    dm.sex,
    dm.country,
    dm.country = 'KOR' as korean,
    dm.birth_year,
    indexed.index_date,
    indexed.index_date_conflict,
    injections.n_injections,
    injections.n_boosters,
    injections.last_injection_date,
    injections.second_injection_date,
    case when injections.n_injections = 1 then 'single-injection'
         when injections.n_boosters > 0 then 'multiple'
         when injections.n_injections >= 2 then 'single-cycle' end as injection_group,
    history.onset_location,
    history.el_escorial,
    history.onset_precision,
    -- (least() skips NULLs: an unknown onset must stay unknown, not become the index date)
    case when coalesce(imputed.onset_mid, imputed.diagnosis_mid) is not null then
        least(coalesce(imputed.onset_mid, imputed.diagnosis_mid - interval {{ var('onset_before_diagnosis_days') }} day),
              indexed.index_date)::date end as onset_date,
    imputed.onset_mid is null and imputed.diagnosis_mid is not null as onset_imputed,
    coalesce(history.onset_precision, 'day') <> 'day' as onset_date_partial,
    case when imputed.diagnosis_mid is not null then least(imputed.diagnosis_mid, indexed.index_date)::date end
        as diagnosis_date,
    -- No riluzole record means not used - when the export has medication records at all; an export without the cm
    -- domain leaves riluzole use unknown (and the patient out of the cohort), never "not used".
    case when (select count(*) from {{ ref('stg_pms__cm') }}) > 0 then coalesce(medication.riluzole, false) end
        as riluzole,
    least(dm.death_date, disposition.ds_death_date) as death_date,
    (dm.death_date is null) <> (disposition.ds_death_date is null)
        or dm.death_date <> disposition.ds_death_date as death_record_conflict,
    disposition.last_contact_date,
    milestones.tracheostomy_or_pav_date
from dm
left join indexed using (subject_id)
left join injections using (subject_id)
left join history using (subject_id)
left join imputed using (subject_id)
left join medication using (subject_id)
left join disposition using (subject_id)
left join milestones using (subject_id)
