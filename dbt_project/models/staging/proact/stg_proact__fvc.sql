-- Forced vital capacity per visit: up to three trials. Percent-of-predicted values delivered as fractions
-- (e.g. 0.88) are kept as delivered here and rescaled in fct_fvc.
select
    cast(subject_id as varchar) as subject_id,
    Forced_Vital_Capacity_Delta as fvc_day,
    Subject_Liters_Trial_1 as liters_trial_1,
    pct_of_Normal_Trial_1 as pct_of_normal_trial_1,
    Subject_Liters_Trial_2 as liters_trial_2,
    pct_of_Normal_Trial_2 as pct_of_normal_trial_2,
    Subject_Liters_Trial_3 as liters_trial_3,
    pct_of_Normal_Trial_3 as pct_of_normal_trial_3,
    subject_normal as liters_predicted,
    nullif(trim(Forced_Vital_Capacity_Units), '') as units
from {{ source('raw', 'proact_fvc') }}
