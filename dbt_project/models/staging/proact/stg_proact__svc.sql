-- Slow vital capacity, up to three trials per visit (note the file's own column spellings).
-- Rename and trim only.
select
    cast(subject_id as varchar) as subject_id,
    Subject_Liters_Trial_1 as subject_liters_trial_1,
    pct_of_Normal_Trial_1 as pct_of_normal_trial_1,
    Subject_Liters__Trial_2_ as subject_liters_trial_2,
    pct_of_Normal_Trial_2 as pct_of_normal_trial_2,
    Subject_Liters__Trial_3_ as subject_liters_trial_3,
    pct_of_Normal_Trial_3 as pct_of_normal_trial_3,
    Subject_Normal as subject_normal,
    Slow_vital_Capacity_Delta as slow_vital_capacity_day,
    nullif(trim(Slow_Vital_Capacity_Units), '') as slow_vital_capacity_units
from {{ source('raw', 'proact_svc') }}
