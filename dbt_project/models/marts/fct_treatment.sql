-- Treatment records: PMS lenzumestrocel injections (numbered, days from the first injection) and PRO-ACT trial
-- arm assignments (one row per subject).
select
    subject_id,
    'PMS' as source,
    'injection' as record_type,
    'treated' as arm,
    injection_number,
    injection_day,
    category,
    dose,
    dose_unit,
    route,
    null::double as treatment_group_day
from {{ ref('int_pms__injections') }}
union all
select
    subject_id,
    'PRO-ACT' as source,
    'trial arm' as record_type,
    arm,
    null as injection_number,
    null as injection_day,
    null as category,
    null as dose,
    null as dose_unit,
    null as route,
    treatment_group_day
from {{ ref('int_proact__subjects') }}
where arm is not null
