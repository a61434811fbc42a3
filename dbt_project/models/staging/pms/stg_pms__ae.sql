-- Adverse events, MedDRA-coded (PT, primary SOC); Y/N flags decoded to booleans; start dates may be partial.
select
    USUBJID as subject_id,
    AESEQ as ae_seq,
    nullif(trim(AETERM), '') as verbatim_term,
    nullif(trim(AEDECOD), '') as preferred_term,
    nullif(trim(AEBODSYS), '') as system_organ_class,
    nullif(lower(trim(AESEV)), '') as severity,
    case upper(trim(AESER)) when 'Y' then true when 'N' then false end as serious,
    case upper(trim(AESHOSP)) when 'Y' then true when 'N' then false end as hospitalisation,
    case upper(trim(AESDTH)) when 'Y' then true when 'N' then false end as death,
    nullif(upper(trim(AEREL)), '') as causality,
    nullif(upper(trim(AEOUT)), '') as outcome,
    {{ pms_date_columns('AESTDTC', 'start', partial=true) }},
    {{ pms_date_columns('AEENDTC', 'end', partial=true) }}
from {{ source('raw', 'pms_ae') }}
