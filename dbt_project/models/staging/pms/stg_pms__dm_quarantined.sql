-- Patients whose dm.csv record was quarantined at load (the cohort excludes them for data quality).
select
    cast(subject_id as varchar) as subject_id,
    file as quarantined_file,
    line as quarantined_line,
    reasons as quarantine_reasons
from {{ source('raw', 'pms_dm_quarantined') }}
