-- Vital status rows; a subject may appear more than once (the real download has one such subject).
select
    cast(subject_id as varchar) as subject_id,
    case lower(trim(Subject_Died)) when 'yes' then true when 'no' then false end as died,
    nullif(trim(Subject_Died), '') as subject_died_reported,
    Death_Days as death_day,
    rowid as source_row
from {{ source('raw', 'proact_deathdata') }}
