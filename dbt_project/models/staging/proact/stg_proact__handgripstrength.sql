-- Hand-grip strength tests, long format (one row per test trial).
-- Rename and trim only.
select
    cast(subject_id as varchar) as subject_id,
    nullif(trim(Test_Name), '') as test_name,
    nullif(trim(Test_Category), '') as test_category,
    nullif(trim(Test_Location), '') as test_location,
    nullif(trim(Test_Laterality), '') as test_laterality,
    MS_Delta as ms_day,
    nullif(trim(Test_trial), '') as test_trial,
    nullif(trim(Test_Result), '') as test_result,
    nullif(trim(Test_Unit), '') as test_unit,
    nullif(trim(Test_Setting), '') as test_setting,
    nullif(trim(DominantHand), '') as dominant_hand
from {{ source('raw', 'proact_handgripstrength') }}
