-- Concomitant medications of PRO-ACT subjects (coded name, start/stop days, dose as text).
-- Rename and trim only.
select
    cast(subject_id as varchar) as subject_id,
    nullif(trim(Medication_Coded), '') as medication_coded,
    Start_Delta as start_day,
    Stop_Delta as stop_day,
    nullif(trim(Dose), '') as dose,
    nullif(trim(Unit), '') as unit,
    nullif(trim(Frequency), '') as frequency,
    nullif(trim(Route), '') as route
from {{ source('raw', 'proact_conmeds') }}
