-- The analysis cohort: one row per patient of either source with the paper's eligibility criteria (one flag
-- each; NULL where a criterion does not apply to the source), the survival outcome and the covariates under the
-- exact names the analysis reads.
with base as (
    select
        *,
        case when source = 'PRO-ACT' then arm = 'placebo' end as crit_placebo_arm,
        coalesce(disease_duration_months < {{ var('max_disease_duration_months') }}, false)
            as crit_disease_duration_lt_24m,
        alsfrs_r_baseline is not null as crit_alsfrs_r_baseline,
        case when source = 'PMS' then coalesce(n_alsfrs_r_after_index, 0) >= 2 end
            as crit_two_alsfrs_r_after_first_injection,
        case when source = 'PMS' then coalesce(n_injections, 0) >= 2 end as crit_two_or_more_injections,
        followup_end_day is not null and followup_end_day >= 0 and age is not null and sex is not null
            and onset_site is not null and riluzole is not null as crit_analysis_data_complete
    from {{ ref('int_patients') }}
),
flagged as (
    select
        *,
        coalesce(crit_placebo_arm, true) and crit_disease_duration_lt_24m and crit_alsfrs_r_baseline
            and coalesce(crit_two_alsfrs_r_after_first_injection, true) and coalesce(crit_two_or_more_injections, true)
            and crit_analysis_data_complete as eligible,
        -- The first failed criterion, in the order of the paper's cohort flow.
        case
            when source = 'PRO-ACT' and not coalesce(crit_placebo_arm, false)
                then case when arm is null then 'trial arm unknown' else 'active arm of its trial' end
            when not crit_disease_duration_lt_24m
                then case when onset_day is null then 'symptom onset unknown'
                          when source = 'PMS' then 'symptom duration of 2 years or more at first injection'
                          else 'more than 2 years from onset at trial start' end
            when source = 'PMS' and not crit_two_alsfrs_r_after_first_injection
                then 'fewer than two ALSFRS-R assessments after the first injection'
            when source = 'PMS' and not crit_two_or_more_injections then 'a single injection only'
            when not crit_alsfrs_r_baseline then 'no ALSFRS-R total at baseline'
            when not crit_analysis_data_complete then 'incomplete follow-up or covariates'
        end as exclusion_reason
    from base
)
select
    subject_id,
    source,
    crit_placebo_arm,
    crit_disease_duration_lt_24m,
    crit_two_alsfrs_r_after_first_injection,
    crit_two_or_more_injections,
    crit_alsfrs_r_baseline,
    crit_analysis_data_complete,
    eligible,
    exclusion_reason,
    case when source = 'PMS' then 'first injection' else 'trial day 0' end as time_zero,
    case when source = 'PMS' then 1 else 0 end as treated,
    case when source = 'PRO-ACT' and arm = 'placebo' then 'control'
         when injection_group = 'single-cycle' then 'single'
         when injection_group = 'multiple' then 'multiple' end as "group",
    followup_end_day as time_days,
    case when death and death_day is not null then 1 else 0 end as event,
    -- Sensitivity outcome: PRO-ACT deaths count only within the ALSFRS follow-up (+30 days), the window in which
    -- survivors are observed; the paper's rule counts later deaths but censors survivors at their last visit.
    case when source = 'PRO-ACT' and death and death_day > last_alsfrs_day + 30 then greatest(last_alsfrs_day, 0)
         else followup_end_day end::double as time_days_within_followup,
    case when death and death_day is not null
              and (source = 'PMS' or death_day <= last_alsfrs_day + 30) then 1 else 0 end as event_within_followup,
    -- Extra endpoint: tracheostomy or permanent assisted ventilation, else death (PMS; not recorded in PRO-ACT).
    case when source = 'PMS' then least(case when tpv_day >= 0 then tpv_day end, death_day, followup_end_day) end
        as tpv_time_days,
    case when source = 'PMS' then case when (tpv_day >= 0 and tpv_day <= followup_end_day)
                                            or (death and death_day is not null) then 1 else 0 end end as tpv_event,
    age,
    sex,
    onset_site,
    alsfrs_r_baseline,
    case when riluzole then 1 when not riluzole then 0 end as riluzole,
    disease_duration_months,
    progression_speed,
    case when korean then 1 when not korean then 0 end as korean,
    onset_imputed,
    death_record_conflict
from flagged
