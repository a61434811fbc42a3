"""The file formats the generator writes: exact file names and column orders of the real PRO-ACT download
(../shared/specs/proact.md) and of the PMS export (../shared/specs/pms_export.md)."""

from __future__ import annotations

PROACT_COLUMNS: dict[str, list[str]] = {
    "ADVERSEEVENTS": ["subject_id", "Lowest_Level_Term", "Preferred_Term", "High_Level_Term",
                      "High_Level_Group_Term", "System_Organ_Class", "SOC_Abbreviation", "SOC_Code", "Severity",
                      "Outcome", "Start_Date_Delta", "End_Date_Delta"],
    "ALSFRS": ["subject_id", "Q1_Speech", "Q2_Salivation", "Q3_Swallowing", "Q4_Handwriting",
               "Q5a_Cutting_without_Gastrostomy", "Q5b_Cutting_with_Gastrostomy", "Q6_Dressing_and_Hygiene",
               "Q7_Turning_in_Bed", "Q8_Walking", "Q9_Climbing_Stairs", "Q10_Respiratory", "ALSFRS_Delta",
               "ALSFRS_Total", "ALSFRS_R_Total", "R_1_Dyspnea", "R_2_Orthopnea", "R_3_Respiratory_Insufficiency",
               "Mode_of_Administration", "ALSFRS_Responded_By"],
    "ALSHISTORY": ["subject_id", "Site_of_Onset___Bulbar", "Site_of_Onset___Limb", "Site_of_Onset___Limb_and_Bulbar",
                   "Site_of_Onset___Other", "Site_of_Onset___Other_Specify", "Site_of_Onset___Spine",
                   "Subject_ALS_History_Delta", "Disease_Duration", "Symptom", "Symptom_Other_Specify", "Location",
                   "Location_Other_Specify", "Site_of_Onset", "Onset_Delta", "Diagnosis_Delta"],
    "CONMEDS": ["subject_id", "Medication_Coded", "Start_Delta", "Stop_Delta", "Dose", "Unit", "Frequency", "Route"],
    "DEATHDATA": ["subject_id", "Subject_Died", "Death_Days"],
    "DEMOGRAPHICS": ["subject_id", "Demographics_Delta", "Age", "Date_of_Birth", "Ethnicity",
                     "Race_Americ_Indian_Alaska_Native", "Race_Asian", "Race_Black_African_American",
                     "Race_Hawaiian_Pacific_Islander", "Race_Unknown", "Race_Caucasian", "Race_Other",
                     "Race_Other_Specify", "Sex"],
    "ELESCORIAL": ["subject_id", "el_escorial", "delta_days"],
    "FAMILYHISTORY": ["subject_id", "Family_History_Delta", "Other_Specify", "Family_Hx_of_ALS_Mutation",
                      "Family_Hx_of_ALS_Mutation_Other", "Family_Hx_of_Neuro_Disease", "Aunt", "Aunt__Maternal_",
                      "Aunt__Paternal_", "Cousin", "Cousin__Paternal_", "Cousin__Maternal_", "Father", "Grandfather",
                      "Grandfather__Maternal_", "Grandfather__Paternal_", "Grandmother", "Grandmother__Maternal_",
                      "Grandmother__Paternal_", "Mother", "Nephew", "Nephew__Maternal_", "Nephew__Paternal_", "Niece",
                      "Niece__Maternal_", "Niece__Paternal_", "Other", "Sibling", "Volunteer", "Uncle",
                      "Uncle__Maternal_", "Uncle__Paternal_", "Family_Hx_of_Neuro_Disease_Other",
                      "Neurological_Disease", "Neurological_Disease_Other", "Son", "Daughter", "Sister", "Brother"],
    "FVC": ["subject_id", "Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters_Trial_2",
            "pct_of_Normal_Trial_2", "Subject_Liters_Trial_3", "pct_of_Normal_Trial_3", "Forced_Vital_Capacity_Delta",
            "subject_normal", "Forced_Vital_Capacity_Units"],
    "HANDGRIPSTRENGTH": ["subject_id", "Test_Name", "Test_Category", "Test_Location", "Test_Laterality", "MS_Delta",
                         "Test_trial", "Test_Result", "Test_Unit", "Test_Setting", "DominantHand"],
    "LABS": ["subject_id", "Test_Name", "Test_Result", "Test_Unit", "Laboratory_Delta"],
    "MUSCLESTRENGTH": ["subject_id", "Test_Name", "Test_Category", "Test_Location", "Test_Laterality", "MS_Delta",
                       "Test_trial", "Test_Result", "Test_Unit", "Test_Setting", "DominantHand", "Test_Break"],
    "RILUZOLE": ["subject_id", "Subject_used_Riluzole", "Riluzole_use_Delta"],
    "SVC": ["subject_id", "Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters__Trial_2_",
            "pct_of_Normal_Trial_2", "Subject_Liters__Trial_3_", "pct_of_Normal_Trial_3", "Subject_Normal",
            "Slow_vital_Capacity_Delta", "Slow_Vital_Capacity_Units"],
    "TREATMENT": ["subject_id", "Study_Arm", "Treatment_Group_Delta"],
    "VITALSIGNS": ["subject_id", "Vital_Signs_Delta", "Blood_Pressure_Diastolic", "Blood_Pressure_Diastolic_Units",
                   "Blood_Pressure_Systolic", "Blood_Pressure_Systolic_Units", "Pulse", "Pulse_Units",
                   "Respiratory_Rate", "Respiratory_Rate_Units", "Temperature", "Temperature_Units", "Weight",
                   "Weight_Units", "Height", "Height_Units", "Baseline_Weight", "Endpoint_Weight",
                   "Supine_Blood_Pressure_Diastolic", "Supine_Blood_Pressure_Systolic", "Supine_Pulse",
                   "Standing_Blood_Pressure_Diastolic", "Standing_Blood_Pressure_Systolic", "Standing_Pulse",
                   "Baseline_Standing_BP_Diastolic", "Baseline_Standing_BP_Systolic", "Baseline_Supine_BP_Diastolic",
                   "Baseline_Supine_BP_Systolic", "Endpoint_Standing_BP_Diastolic", "Endpoint_Standing_BP_Systolic",
                   "Endpoint_Supine_BP_Diastolic", "Endpoint_Supine_BP_Systolic"],
}


def proact_file_name(form: str) -> str:
    return f"PROACT_{form}.csv"


PMS_COLUMNS: dict[str, list[str]] = {
    "dm": ["STUDYID", "USUBJID", "SUBJID", "SITEID", "PATINIT", "MRN", "BRTHDTC", "AGE", "SEX", "RACE", "COUNTRY",
           "RFSTDTC", "RFENDTC", "DTHDTC", "DTHFL"],
    "mh": ["STUDYID", "USUBJID", "MHSEQ", "MHCAT", "MHTERM", "MHLOC", "MHEVAL", "MHSTDTC"],
    "ex": ["STUDYID", "USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXCAT", "EXSTDTC"],
    "qs": ["STUDYID", "USUBJID", "QSSEQ", "QSCAT", "QSTESTCD", "QSTEST", "QSSCAT", "QSORRES", "QSSTRESN", "VISIT",
           "QSDTC"],
    "cm": ["STUDYID", "USUBJID", "CMSEQ", "CMTRT", "CMDECOD", "CMSTDTC", "CMENDTC"],
    "ae": ["STUDYID", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AESER", "AESHOSP", "AESDTH",
           "AEREL", "AEOUT", "AESTDTC", "AEENDTC"],
    "pr": ["STUDYID", "USUBJID", "PRSEQ", "PRTRT", "PRSTDTC"],
    "ds": ["STUDYID", "USUBJID", "DSSEQ", "DSDECOD", "DSSTDTC"],
}

QS_ITEMS = [
    ("ALSFRS01", "Speech"), ("ALSFRS02", "Salivation"), ("ALSFRS03", "Swallowing"), ("ALSFRS04", "Handwriting"),
    ("ALSFRS05", "Cutting food and handling utensils"), ("ALSFRS06", "Dressing and hygiene"),
    ("ALSFRS07", "Turning in bed and adjusting bed clothes"), ("ALSFRS08", "Walking"),
    ("ALSFRS09", "Climbing stairs"), ("ALSFRS10", "Dyspnea"), ("ALSFRS11", "Orthopnea"),
    ("ALSFRS12", "Respiratory insufficiency"),
]
