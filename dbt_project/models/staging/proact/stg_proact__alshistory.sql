-- ALS history rows. The onset site arrives in two encodings on different rows (text `Site_of_Onset` or the
-- `Site_of_Onset___*` flags); both are decoded into one `onset_site_reported` vocabulary.
select
    cast(subject_id as varchar) as subject_id,
    case
        when Site_of_Onset is not null then
            case lower(trim(regexp_replace(Site_of_Onset, '^\s*Onset:\s*', '')))
                when 'bulbar' then 'bulbar'
                when 'limb' then 'limb'
                when 'limb and bulbar' then 'limb and bulbar'
                when 'spine' then 'spine'
                when 'other' then 'other'
            end
        when Site_of_Onset___Limb_and_Bulbar = 1 or (Site_of_Onset___Bulbar = 1 and Site_of_Onset___Limb = 1)
            then 'limb and bulbar'
        when Site_of_Onset___Bulbar = 1 then 'bulbar'
        when Site_of_Onset___Limb = 1 then 'limb'
        when Site_of_Onset___Spine = 1 then 'spine'
        when Site_of_Onset___Other = 1 then 'other'
    end as onset_site_reported,
    nullif(trim(Site_of_Onset___Other_Specify), '') as onset_site_other_specify,
    Subject_ALS_History_Delta as history_day,
    Disease_Duration as disease_duration_reported,
    nullif(trim(Symptom), '') as symptom,
    nullif(trim(Symptom_Other_Specify), '') as symptom_other_specify,
    nullif(trim(Location), '') as location,
    nullif(trim(Location_Other_Specify), '') as location_other_specify,
    Onset_Delta as onset_day,
    Diagnosis_Delta as diagnosis_day,
    rowid as source_row
from {{ source('raw', 'proact_alshistory') }}
