-- The analysis cohort: one row per patient of either source with the paper's eligibility criteria (one flag
-- each; NULL where a criterion does not apply to the source), the survival outcome and the covariates under the
-- exact names the analysis reads.
-- A criterion that cannot be evaluated fails, never passes: every flag that applies to a source is true or false
-- (an unknown arm, onset, baseline, follow-up or covariate is false); flags that do not apply are NULL and are
-- left out of `eligible` by source, not by coalescing them to true.
with base as (
    select
        *,
        data_quality_issue is null as crit_data_quality,
        case when source = 'PRO-ACT' then coalesce(arm = 'placebo' and not arm_conflict, false) end as crit_placebo_arm,
        coalesce(disease_duration_months < {{ var('max_disease_duration_months') }}, false)
            as crit_disease_duration_lt_24m,
        alsfrs_r_baseline is not null as crit_alsfrs_r_baseline,
        case when source = 'PMS' then coalesce(n_alsfrs_r_after_index, 0) >= 2 end
            as crit_two_alsfrs_r_after_first_injection,
        case when source = 'PMS' then coalesce(n_injections, 0) >= 2 end as crit_two_or_more_injections,
        coalesce(followup_end_day >= 0, false) as crit_followup_known,
        -- Aligned analysis: the ALSFRS-R rule for both arms, and a landmark at which every condition is known.
        coalesce(n_alsfrs_r_after_index, 0) >= 2 as crit_two_alsfrs_r_after_index,
        case when source = 'PMS' then greatest(second_alsfrs_r_day, second_injection_day)
             else second_alsfrs_r_day end as landmark_day,
        -- Outcome ascertained alike in both arms: a death counts within the patient's observation window (PRO-ACT:
        -- up to the next planned visit after the last ALSFRS one - one mean visit spacing, at least
        -- {{ var('death_window_min_days') }} days; PMS: its follow-up), later ones are censored at the last visit.
        -- The alternative (a fixed 30 days) drops in-trial deaths between visits: docs/study_design.md.
        last_alsfrs_day + greatest({{ var('death_window_min_days') }}, coalesce(alsfrs_visit_spacing_days, 0))
            as observation_end_day,
        case when source = 'PRO-ACT' and death and death_day > observation_end_day then greatest(last_alsfrs_day, 0)
             else followup_end_day end::double as time_days_within_followup,
        case when death and death_day is not null
                  and (source = 'PMS' or death_day <= observation_end_day) then 1 else 0 end as event_within_followup,
        age is not null and sex is not null and onset_site is not null and riluzole is not null
            as crit_covariates_complete
    from {{ ref('int_patients') }}
),
flagged as (
    select
        *,
        crit_followup_known and crit_covariates_complete as crit_analysis_data_complete,
        crit_data_quality and crit_disease_duration_lt_24m and crit_alsfrs_r_baseline and crit_followup_known
            and crit_covariates_complete
            and case source
                    when 'PRO-ACT' then crit_placebo_arm
                    when 'PMS' then crit_two_alsfrs_r_after_first_injection and crit_two_or_more_injections
                end as eligible,
        coalesce(time_days_within_followup > landmark_day, false) as crit_observed_after_landmark,
        -- The first failed criterion, in the cohort-flow order of the seed cohort_exclusion_steps.
        {{ exclusion_reason() }} as exclusion_reason
    from base
),
aligned as (
    select
        *,
        crit_data_quality and crit_disease_duration_lt_24m and crit_alsfrs_r_baseline and crit_followup_known
            and crit_covariates_complete and crit_two_alsfrs_r_after_index and crit_observed_after_landmark
            and case source when 'PRO-ACT' then crit_placebo_arm when 'PMS' then crit_two_or_more_injections end
            as aligned_eligible,
        -- The aligned analysis' first failed criterion: the same steps, plus the ALSFRS-R rule for the control
        -- arm and the landmark.
        {{ exclusion_reason(aligned=true) }} as aligned_exclusion_reason
    from flagged
),
falsification as (
    select
        *,
        -- Known-null falsification: PRO-ACT patients of an active arm who meet every criterion but the arm. The
        -- pooled trials found no survival benefit, so matched against placebo patients the HR should cover 1.
        case when source = 'PRO-ACT' then coalesce(arm = 'active' and not arm_conflict, false)
            and crit_data_quality and crit_disease_duration_lt_24m and crit_alsfrs_r_baseline
            and crit_followup_known and crit_covariates_complete end as active_arm_eligible
    from aligned
),
aligned_falsification as (
    select
        *,
        -- The same under the aligned analysis' rules: the ALSFRS-R rule and observed after the landmark.
        active_arm_eligible and crit_two_alsfrs_r_after_index and crit_observed_after_landmark
            as aligned_active_arm_eligible
    from falsification
)
select
    subject_id,
    source,
    crit_data_quality,
    crit_placebo_arm,
    crit_disease_duration_lt_24m,
    crit_two_alsfrs_r_after_first_injection,
    crit_two_or_more_injections,
    crit_alsfrs_r_baseline,
    crit_followup_known,
    crit_covariates_complete,
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
    -- Sensitivity outcome: PRO-ACT deaths count only within the observation window (the last ALSFRS visit + one
    -- visit spacing, at least 30 days), the window in which survivors are observed; the paper's rule counts later
    -- deaths but censors survivors at their last visit.
    observation_end_day,
    time_days_within_followup,
    event_within_followup,
    -- The aligned analysis (target-trial emulation; docs/study_design.md): time zero at the landmark for both arms,
    -- the outcome ascertained alike, one progression-speed definition.
    crit_two_alsfrs_r_after_index,
    crit_observed_after_landmark,
    aligned_eligible,
    aligned_exclusion_reason,
    landmark_day,
    active_arm_eligible,
    aligned_active_arm_eligible,
    case when landmark_day is not null and time_days_within_followup > landmark_day
         then time_days_within_followup - landmark_day end as aligned_time_days,
    event_within_followup as aligned_event,
    -- Speed from the onset the cohort uses in both arms (recorded; diagnosis - 12 months only where it is missing),
    -- where the paper's rule takes diagnosis - 12 months wherever a diagnosis date exists (all PMS, some PRO-ACT).
    case when onset_day < 0 then (48 - alsfrs_r_baseline) / ((0 - onset_day) / {{ var('days_per_month') }}) end
        as aligned_progression_speed,
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
    death_record_conflict,
    arm_conflict,
    data_quality_issue
from aligned_falsification
