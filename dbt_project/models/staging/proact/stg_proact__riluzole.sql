-- Riluzole use (Yes/No) per PRO-ACT subject.
select
    cast(subject_id as varchar) as subject_id,
    case lower(trim(Subject_used_Riluzole)) when 'yes' then true when 'no' then false end as used_riluzole,
    nullif(trim(Subject_used_Riluzole), '') as riluzole_reported,
    Riluzole_use_Delta as riluzole_use_day
from {{ source('raw', 'proact_riluzole') }}
