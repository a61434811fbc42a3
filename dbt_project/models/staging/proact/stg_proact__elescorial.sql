-- El Escorial diagnostic category per PRO-ACT subject (text as delivered, trimmed).
select
    cast(subject_id as varchar) as subject_id,
    nullif(trim(el_escorial), '') as el_escorial,
    delta_days as el_escorial_day
from {{ source('raw', 'proact_elescorial') }}
