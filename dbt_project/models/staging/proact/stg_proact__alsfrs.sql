-- One row per ALSFRS / ALSFRS-R assessment as delivered (items keep their half points).
-- Item 5: `q5a` without gastrostomy, `q5b` with gastrostomy.
select
    cast(subject_id as varchar) as subject_id,
    ALSFRS_Delta as alsfrs_day,
    Q1_Speech as q1_speech,
    Q2_Salivation as q2_salivation,
    Q3_Swallowing as q3_swallowing,
    Q4_Handwriting as q4_handwriting,
    Q5a_Cutting_without_Gastrostomy as q5a_cutting_without_gastrostomy,
    Q5b_Cutting_with_Gastrostomy as q5b_cutting_with_gastrostomy,
    Q6_Dressing_and_Hygiene as q6_dressing_and_hygiene,
    Q7_Turning_in_Bed as q7_turning_in_bed,
    Q8_Walking as q8_walking,
    Q9_Climbing_Stairs as q9_climbing_stairs,
    Q10_Respiratory as q10_respiratory,
    R_1_Dyspnea as r1_dyspnea,
    R_2_Orthopnea as r2_orthopnea,
    R_3_Respiratory_Insufficiency as r3_respiratory_insufficiency,
    ALSFRS_Total as alsfrs_total,
    ALSFRS_R_Total as alsfrs_r_total,
    nullif(trim(Mode_of_Administration), '') as mode_of_administration,
    nullif(trim(ALSFRS_Responded_By), '') as responded_by,
    rowid as source_row
from {{ source('raw', 'proact_alsfrs') }}
