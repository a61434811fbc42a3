{#- The first failed criterion of mart_survival_cohort, in the cohort-flow order of the seed
    cohort_exclusion_steps (tests/dbt/test_eligibility_criteria.py holds the two to each other). One list of steps
    for both analyses: `aligned` adds the ALSFRS-R rule for the control arm and the landmark (the steps whose
    `analyses` in the seed is 'aligned'). Each unknown is its own step. -#}
{% macro exclusion_reason(aligned=false) %}
        case
            when not crit_data_quality then 'patient record quarantined (data quality)'
            when source = 'PRO-ACT' and arm is null then 'trial arm unknown'
            when source = 'PRO-ACT' and arm_conflict then 'trial arm conflicting'
            when source = 'PRO-ACT' and not crit_placebo_arm then 'active arm of its trial'
            when not crit_disease_duration_lt_24m
                then case when onset_day is null then 'symptom onset unknown'
                          when source = 'PMS' then 'symptom duration of 2 years or more at first injection'
                          else 'more than 2 years from onset at trial start' end
            when source = 'PMS' and not crit_two_alsfrs_r_after_first_injection
                then 'fewer than two ALSFRS-R assessments after the first injection'
{%- if aligned %}
            when not crit_two_alsfrs_r_after_index then 'fewer than two ALSFRS-R assessments after trial day 0'
{%- endif %}
            when source = 'PMS' and not crit_two_or_more_injections
                then case when coalesce(n_injections, 0) = 0 then 'no injection recorded' else 'a single injection only' end
            when not crit_alsfrs_r_baseline then 'no ALSFRS-R total at baseline'
            when followup_end_day is null then 'follow-up unknown (no death day and no assessment)'
            when not crit_followup_known then 'follow-up ends before time zero'
{%- if aligned %}
            when not crit_observed_after_landmark then 'died or left observation before the landmark'
{%- endif %}
            when age is null then 'age unknown'
            when sex is null then 'sex unknown'
            when onset_site is null then 'onset site unknown'
            when riluzole is null then 'riluzole use unknown'
        end
{%- endmacro %}
