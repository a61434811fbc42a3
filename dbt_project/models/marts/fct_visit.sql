-- One row per ALSFRS(-R) assessment of either source; original-ALSFRS rows are kept apart (instrument `ALSFRS`)
-- and never carry an ALSFRS-R total.
select
    subject_id,
    source,
    visit_number,
    visit_day,
    visit_label,
    instrument,
    q1_speech, q2_salivation, q3_swallowing, q4_handwriting, q5_cutting, gastrostomy,
    q6_dressing_and_hygiene, q7_turning_in_bed, q8_walking, q9_climbing_stairs,
    r1_dyspnea, r2_orthopnea, r3_respiratory_insufficiency,
    q10_respiratory,
    case when instrument = 'ALSFRS-R' then alsfrs_r_total end as alsfrs_r_total,
    alsfrs_r_total_recomputed,
    alsfrs_total
from {{ ref('int_alsfrs_assessments') }}
