-- Adverse events of both sources with onset days from the first dose and the paper's flags.
-- PMS partial or missing start dates follow the ADaM convention: an event that cannot be placed before the first
-- injection is treatment-emergent; a partial date in the month/year of the first injection is imputed as the
-- first injection date, otherwise as the earliest date it allows.
with soc as (
    select soc_order, soc_name, soc_code from {{ ref('meddra_soc_order') }}
),
pms as (
    select
        ae.subject_id,
        'PMS' as source,
        ae.ae_seq,
        ae.preferred_term as pt,
        ae.system_organ_class as soc,
        ae.severity,
        ae.serious,
        ae.hospitalisation,
        ae.death,
        ae.causality,
        ae.outcome,
        ae.start_date_precision,
        case
            when ae.start_date_precision = 'day' then ae.start_date
            when p.index_date between ae.start_date_earliest and ae.start_date_latest then p.index_date
            else ae.start_date_earliest
        end - p.index_date as onset_day,
        ae.start_date_latest is null or ae.start_date_latest >= p.index_date as treatment_emergent
    from {{ ref('stg_pms__ae') }} as ae
    join {{ ref('int_pms__patients') }} as p using (subject_id)
),
proact as (
    select
        subject_id,
        'PRO-ACT' as source,
        row_number() over (partition by subject_id order by source_row) as ae_seq,
        preferred_term as pt,
        system_organ_class as soc,
        case lower(severity_reported) when 'mild' then 'mild' when 'moderate' then 'moderate'
                                      when 'severe' then 'severe' end as severity,
        null::boolean as serious,
        null::boolean as hospitalisation,
        lower(outcome_reported) in ('death', 'fatal', 'died') as death,
        null::varchar as causality,
        outcome_reported as outcome,
        case when start_day is null then null else 'day' end as start_date_precision,
        start_day as onset_day,
        start_day is null or start_day >= 0 as treatment_emergent
    from {{ ref('stg_proact__adverseevents') }}
)
select
    e.*,
    soc.soc_order,
    -- Within one year of the first dose: treatment-emergent, and on or before day 365 (an undated event cannot be
    -- placed after day 365, so it counts). The paper's fixed definition, kept whatever the study's window.
    e.treatment_emergent and coalesce(e.onset_day <= 365, true) as within_one_year,
    -- Within the study's safety window (var safety_window_days; the paper's 365 by default), by the same rule: the
    -- flag the safety tables read.
    e.treatment_emergent and coalesce(e.onset_day <= {{ var('safety_window_days') }}, true) as within_safety_window
from (select * from pms union all select * from proact) as e
left join soc on lower(soc.soc_name) = lower(e.soc)
