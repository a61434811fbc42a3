-- One row per adverse event of either source. `adr` follows the paper: an AE within the safety window (one year
-- in the paper) of the first injection is an adverse drug reaction unless its causality was judged UNLIKELY or
-- NOT RELATED (PMS only; the PRO-ACT files carry no causality).
select
    subject_id,
    source,
    ae_seq,
    pt,
    soc,
    soc_order,
    severity,
    serious,
    hospitalisation,
    death,
    causality,
    outcome,
    onset_day,
    start_date_precision as onset_precision,
    treatment_emergent,
    within_one_year,
    within_safety_window,
    case when source = 'PMS' then within_safety_window and coalesce(causality not in ('UNLIKELY', 'NOT RELATED'), true)
    end as adr
from {{ ref('int_adverse_events') }}
