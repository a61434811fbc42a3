-- Lenzumestrocel injections, one row per injection; category decoded to `cycle 1` / `booster`.
select
    USUBJID as subject_id,
    EXSEQ as ex_seq,
    nullif(upper(trim(EXTRT)), '') as treatment,
    EXDOSE as dose,
    nullif(trim(EXDOSU), '') as dose_unit,
    nullif(upper(trim(EXROUTE)), '') as route,
    case upper(trim(EXCAT)) when 'CYCLE 1' then 'cycle 1' when 'BOOSTER' then 'booster' end as category,
    nullif(trim(EXCAT), '') as category_reported,
    {{ pms_date_columns('EXSTDTC', 'injection') }}
from {{ source('raw', 'pms_ex') }}
