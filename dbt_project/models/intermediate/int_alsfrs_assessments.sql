-- ALSFRS(-R) assessments of both sources in one vocabulary, days from each patient's index date
-- (PRO-ACT: trial day 0; PMS: first injection). Original-ALSFRS-only rows (instrument `ALSFRS`) keep their own
-- total and never get an ALSFRS-R total. Rows without a day cannot be placed in time and are left out
-- (they stay in staging; see the `unplaced_assessments` column of dim_patient).
with proact as (
    select
        subject_id,
        'PRO-ACT' as source,
        alsfrs_day as visit_day,
        case when alsfrs_r_total is not null or r1_dyspnea is not null or r2_orthopnea is not null
                  or r3_respiratory_insufficiency is not null then 'ALSFRS-R' else 'ALSFRS' end as instrument,
        q1_speech, q2_salivation, q3_swallowing, q4_handwriting,
        coalesce(q5b_cutting_with_gastrostomy, q5a_cutting_without_gastrostomy) as q5_cutting,
        q5b_cutting_with_gastrostomy is not null as gastrostomy,
        q6_dressing_and_hygiene, q7_turning_in_bed, q8_walking, q9_climbing_stairs,
        r1_dyspnea, r2_orthopnea, r3_respiratory_insufficiency,
        q10_respiratory,
        alsfrs_r_total,
        alsfrs_total,
        null::varchar as visit_label,
        source_row
    from {{ ref('stg_proact__alsfrs') }}
    where alsfrs_day is not null
),
pms_items as (
    select qs.subject_id, qs.assessment_date,
           max(qs.score) filter (where qs.item_number = 1) as q1_speech,
           max(qs.score) filter (where qs.item_number = 2) as q2_salivation,
           max(qs.score) filter (where qs.item_number = 3) as q3_swallowing,
           max(qs.score) filter (where qs.item_number = 4) as q4_handwriting,
           max(qs.score) filter (where qs.item_number = 5) as q5_cutting,
           coalesce(bool_or(qs.gastrostomy) filter (where qs.item_number = 5), false) as gastrostomy,
           max(qs.score) filter (where qs.item_number = 6) as q6_dressing_and_hygiene,
           max(qs.score) filter (where qs.item_number = 7) as q7_turning_in_bed,
           max(qs.score) filter (where qs.item_number = 8) as q8_walking,
           max(qs.score) filter (where qs.item_number = 9) as q9_climbing_stairs,
           max(qs.score) filter (where qs.item_number = 10) as r1_dyspnea,
           max(qs.score) filter (where qs.item_number = 11) as r2_orthopnea,
           max(qs.score) filter (where qs.item_number = 12) as r3_respiratory_insufficiency,
           max(qs.score) filter (where qs.is_total) as alsfrs_r_total,
           first(qs.visit order by qs.qs_seq) as visit_label,
           min(qs.qs_seq) as source_row
    from {{ ref('stg_pms__qs') }} as qs
    where qs.assessment_date is not null
    group by qs.subject_id, qs.assessment_date
),
pms as (
    select
        i.subject_id,
        'PMS' as source,
        i.assessment_date - p.index_date as visit_day,
        'ALSFRS-R' as instrument,
        i.q1_speech, i.q2_salivation, i.q3_swallowing, i.q4_handwriting, i.q5_cutting, i.gastrostomy,
        i.q6_dressing_and_hygiene, i.q7_turning_in_bed, i.q8_walking, i.q9_climbing_stairs,
        i.r1_dyspnea, i.r2_orthopnea, i.r3_respiratory_insufficiency,
        null::double as q10_respiratory,
        i.alsfrs_r_total,
        null::double as alsfrs_total,
        i.visit_label,
        i.source_row
    from pms_items as i
    join {{ ref('int_pms__patients') }} as p using (subject_id)
    where p.index_date is not null
),
both_sources as (
    select * from proact
    union all
    select * from pms
)
select
    *,
    -- Recomputed only when all 12 ALSFRS-R items are present.
    case when instrument = 'ALSFRS-R' then
        q1_speech + q2_salivation + q3_swallowing + q4_handwriting + q5_cutting + q6_dressing_and_hygiene
        + q7_turning_in_bed + q8_walking + q9_climbing_stairs + r1_dyspnea + r2_orthopnea
        + r3_respiratory_insufficiency end as alsfrs_r_total_recomputed,
    row_number() over (partition by subject_id order by visit_day, source_row) as visit_number
from both_sources
