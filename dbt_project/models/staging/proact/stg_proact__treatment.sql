-- Trial arm per PRO-ACT subject, decoded to placebo / active.
select
    cast(subject_id as varchar) as subject_id,
    case lower(trim(Study_Arm)) when 'placebo' then 'placebo' when 'active' then 'active' end as arm,
    nullif(trim(Study_Arm), '') as arm_reported,
    Treatment_Group_Delta as treatment_group_day
from {{ source('raw', 'proact_treatment') }}
