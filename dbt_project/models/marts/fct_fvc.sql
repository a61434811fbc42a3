-- Forced vital capacity per PRO-ACT visit: the best of up to three trials, in percent of predicted (fractions
-- such as 0.88 delivered by some trials are rescaled to 88).
with trials as (
    select subject_id, fvc_day,
           greatest(liters_trial_1, liters_trial_2, liters_trial_3) as fvc_liters,
           greatest(pct_of_normal_trial_1, pct_of_normal_trial_2, pct_of_normal_trial_3) as pct_best
    from {{ ref('stg_proact__fvc') }}
)
select
    subject_id,
    'PRO-ACT' as source,
    fvc_day as visit_day,
    fvc_liters,
    case when pct_best <= 2 then pct_best * 100 else pct_best end as fvc_percent_predicted,
    pct_best is not null and pct_best <= 2 as fvc_percent_rescaled
from trials
where fvc_day is not null and (fvc_liters is not null or pct_best is not null)
