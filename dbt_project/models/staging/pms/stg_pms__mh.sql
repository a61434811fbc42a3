-- ALS history: symptom onset (with site), diagnosis and El Escorial category. Onset dates may be partial.
select
    USUBJID as subject_id,
    MHSEQ as mh_seq,
    upper(trim(MHCAT)) as category,
    nullif(trim(MHTERM), '') as term,
    nullif(upper(trim(MHLOC)), '') as onset_location,
    nullif(upper(trim(MHEVAL)), '') as el_escorial,
    {{ pms_date_columns('MHSTDTC', 'start', partial=true) }}
from {{ source('raw', 'pms_mh') }}
