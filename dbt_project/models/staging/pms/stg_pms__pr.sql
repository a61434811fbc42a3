-- Procedures marking disease milestones (tracheostomy, permanent assisted ventilation, NIV, gastrostomy).
select
    USUBJID as subject_id,
    PRSEQ as pr_seq,
    nullif(upper(trim(PRTRT)), '') as procedure,
    {{ pms_date_columns('PRSTDTC', 'procedure', partial=true) }}
from {{ source('raw', 'pms_pr') }}
