-- ALSFRS-R, one row per item per assessment. `item_number` 1-12 (null for the recorded total); item 5 carries the
-- gastrostomy flag from QSSCAT.
select
    USUBJID as subject_id,
    QSSEQ as qs_seq,
    nullif(upper(trim(QSCAT)), '') as category,
    upper(trim(QSTESTCD)) as test_code,
    nullif(trim(QSTEST), '') as test_name,
    case when regexp_full_match(upper(trim(QSTESTCD)), 'ALSFRS(0[1-9]|1[0-2])')
         then cast(right(trim(QSTESTCD), 2) as integer) end as item_number,
    upper(trim(QSTESTCD)) = 'ALSFRSTO' as is_total,
    case upper(trim(QSSCAT)) when 'WITH GASTROSTOMY' then true when 'WITHOUT GASTROSTOMY' then false end
        as gastrostomy,
    nullif(trim(QSORRES), '') as result_reported,
    QSSTRESN as score,
    nullif(upper(trim(VISIT)), '') as visit,
    {{ pms_date_columns('QSDTC', 'assessment') }}
from {{ source('raw', 'pms_qs') }}
