-- Disposition: death, loss to follow-up, withdrawal, or the last contact of ongoing patients.
select
    USUBJID as subject_id,
    DSSEQ as ds_seq,
    nullif(upper(trim(DSDECOD)), '') as disposition,
    {{ pms_date_columns('DSSTDTC', 'disposition') }}
from {{ source('raw', 'pms_ds') }}
