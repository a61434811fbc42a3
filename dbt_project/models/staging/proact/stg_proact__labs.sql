-- Laboratory results, long format; the result stays text (numbers, '-', words) as delivered.
-- Rename and trim only.
select
    cast(subject_id as varchar) as subject_id,
    nullif(trim(Test_Name), '') as test_name,
    nullif(trim(Test_Result), '') as test_result,
    nullif(trim(Test_Unit), '') as test_unit,
    Laboratory_Delta as laboratory_day
from {{ source('raw', 'proact_labs') }}
