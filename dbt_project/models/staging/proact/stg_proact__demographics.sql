-- One row per PRO-ACT subject (duplicates are left for the tests to report). Sex decoded to M/F.
select
    cast(subject_id as varchar) as subject_id,
    Demographics_Delta as demographics_day,
    Age as age,
    Date_of_Birth as date_of_birth_day,
    nullif(trim(Ethnicity), '') as ethnicity,
    case lower(trim(Sex)) when 'male' then 'M' when 'female' then 'F' end as sex,
    nullif(trim(Sex), '') as sex_reported,
    Race_Americ_Indian_Alaska_Native = 1 as race_american_indian_alaska_native,
    Race_Asian = 1 as race_asian,
    Race_Black_African_American = 1 as race_black_african_american,
    Race_Hawaiian_Pacific_Islander = 1 as race_hawaiian_pacific_islander,
    Race_Unknown = 1 as race_unknown,
    Race_Caucasian = 1 as race_caucasian,
    Race_Other = 1 as race_other,
    nullif(trim(Race_Other_Specify), '') as race_other_specify
from {{ source('raw', 'proact_demographics') }}
