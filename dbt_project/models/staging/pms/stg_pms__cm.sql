-- Concomitant medications; `medication` is the standardised name (RILUZOLE for riluzole).
select
    USUBJID as subject_id,
    CMSEQ as cm_seq,
    nullif(trim(CMTRT), '') as medication_reported,
    nullif(upper(trim(CMDECOD)), '') as medication,
    {{ pms_date_columns('CMSTDTC', 'start', partial=true) }},
    {{ pms_date_columns('CMENDTC', 'end', partial=true) }}
from {{ source('raw', 'pms_cm') }}
