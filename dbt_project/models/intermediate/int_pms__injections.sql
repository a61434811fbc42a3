-- PMS injections numbered in date order, with days from the first injection (the PMS index date).
select
    subject_id,
    ex_seq,
    row_number() over (partition by subject_id order by injection_date, ex_seq) as injection_number,
    injection_date,
    injection_date - min(injection_date) over (partition by subject_id) as injection_day,
    category,
    dose,
    dose_unit,
    route
from {{ ref('stg_pms__ex') }}
where injection_date is not null
