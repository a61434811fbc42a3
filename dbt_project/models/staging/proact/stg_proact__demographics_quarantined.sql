-- Patients whose PROACT_DEMOGRAPHICS.csv record was quarantined at load (the cohort excludes them for data quality).
select
    cast(subject_id as varchar) as subject_id,
    file as quarantined_file,
    line as quarantined_line,
    reasons as quarantine_reasons
from {{ source('raw', 'proact_demographics_quarantined') }}
