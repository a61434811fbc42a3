"""The one schema contract of the raw layer: which files exist, their columns in file order, declared types,
which columns are required, and the row rules that send a row to quarantine.

The synthetic generator writes exactly these column lists (synthetic/formats.py imports them), and the loader
reads real files against them. The column lists are those measured on a real PRO-ACT download and those of the
PMS export specification.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VARCHAR, DOUBLE, BIGINT, INTEGER = "VARCHAR", "DOUBLE", "BIGINT", "INTEGER"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = VARCHAR
    required: bool = False  # missing from the header -> the load fails naming file and column
    not_null: bool = False  # an empty value -> the row is quarantined
    rule: str | None = None  # SQL predicate on the typed value `{v}`; false -> the row is quarantined
    rule_text: str | None = None  # the reason written to quarantine when `rule` is false


@dataclass(frozen=True)
class TableSchema:
    source: str  # "proact" or "pms"
    name: str  # the form (PRO-ACT, upper case) or the domain (PMS, lower case)
    columns: tuple[Column, ...]
    required_file: bool = True
    description: str = ""
    identifiers: tuple[str, ...] = ()  # PMS direct identifiers, dropped at load
    pseudonymised: tuple[str, ...] = field(default=())  # PMS patient keys replaced by the keyed hash

    @property
    def table(self) -> str:
        """The raw table name (schema `raw`)."""
        return f"{self.source}_{self.name.lower()}"

    @property
    def key_column(self) -> str:
        """The patient key: `subject_id` (PRO-ACT) or `USUBJID` (PMS)."""
        return "USUBJID" if self.source == "pms" else "subject_id"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        lookup = {c.name.lower(): c for c in self.columns}
        return lookup[name.lower()]


def _cols(names: list[str], types: dict[str, str] | None = None, required: tuple[str, ...] = (),
          rules: dict[str, tuple[str, str]] | None = None) -> tuple[Column, ...]:
    types, rules = types or {}, rules or {}
    out = []
    for n in names:
        rule, text = rules.get(n, (None, None))
        out.append(Column(n, types.get(n, VARCHAR), required=n in required, rule=rule, rule_text=text))
    return tuple(out)


def _numeric(names: list[str]) -> dict[str, str]:
    return dict.fromkeys(names, DOUBLE)


SUBJECT = Column("subject_id", BIGINT, required=True, not_null=True, rule="{v} > 0",
                 rule_text="subject_id must be a positive integer")
ITEM_RULE = ("{v} BETWEEN 0 AND 4", "ALSFRS item outside 0-4")

_ALSFRS_ITEMS = ["Q1_Speech", "Q2_Salivation", "Q3_Swallowing", "Q4_Handwriting", "Q5a_Cutting_without_Gastrostomy",
                 "Q5b_Cutting_with_Gastrostomy", "Q6_Dressing_and_Hygiene", "Q7_Turning_in_Bed", "Q8_Walking",
                 "Q9_Climbing_Stairs", "Q10_Respiratory"]
_R_ITEMS = ["R_1_Dyspnea", "R_2_Orthopnea", "R_3_Respiratory_Insufficiency"]
_FAMILY = ["Aunt", "Aunt__Maternal_", "Aunt__Paternal_", "Cousin", "Cousin__Paternal_", "Cousin__Maternal_",
           "Father", "Grandfather", "Grandfather__Maternal_", "Grandfather__Paternal_", "Grandmother",
           "Grandmother__Maternal_", "Grandmother__Paternal_", "Mother", "Nephew", "Nephew__Maternal_",
           "Nephew__Paternal_", "Niece", "Niece__Maternal_", "Niece__Paternal_", "Other", "Sibling", "Volunteer",
           "Uncle", "Uncle__Maternal_", "Uncle__Paternal_"]
_STRENGTH = ["Test_Name", "Test_Category", "Test_Location", "Test_Laterality", "MS_Delta", "Test_trial",
             "Test_Result", "Test_Unit", "Test_Setting", "DominantHand"]
_VITALS_NUM = ["Vital_Signs_Delta", "Blood_Pressure_Diastolic", "Blood_Pressure_Systolic", "Pulse",
               "Respiratory_Rate", "Temperature", "Weight", "Height", "Baseline_Weight", "Endpoint_Weight",
               "Supine_Blood_Pressure_Diastolic", "Supine_Blood_Pressure_Systolic", "Supine_Pulse",
               "Standing_Blood_Pressure_Diastolic", "Standing_Blood_Pressure_Systolic", "Standing_Pulse",
               "Baseline_Standing_BP_Diastolic", "Baseline_Standing_BP_Systolic", "Baseline_Supine_BP_Diastolic",
               "Baseline_Supine_BP_Systolic", "Endpoint_Standing_BP_Diastolic", "Endpoint_Standing_BP_Systolic",
               "Endpoint_Supine_BP_Diastolic", "Endpoint_Supine_BP_Systolic"]


def _proact(form: str, names: list[str], types: dict[str, str] | None = None, required: tuple[str, ...] = (),
            rules: dict[str, tuple[str, str]] | None = None, required_file: bool = True,
            description: str = "") -> TableSchema:
    rest = _cols(names, types, required, rules)
    return TableSchema("proact", form, (SUBJECT, *rest), required_file=required_file, description=description)


PROACT_TABLES: tuple[TableSchema, ...] = (
    _proact("ADVERSEEVENTS", ["Lowest_Level_Term", "Preferred_Term", "High_Level_Term", "High_Level_Group_Term",
                              "System_Organ_Class", "SOC_Abbreviation", "SOC_Code", "Severity", "Outcome",
                              "Start_Date_Delta", "End_Date_Delta"],
            _numeric(["Start_Date_Delta", "End_Date_Delta"]), required_file=False,
            description="Adverse events of the pooled trials, MedDRA-coded."),
    _proact("ALSFRS", [*_ALSFRS_ITEMS, "ALSFRS_Delta", "ALSFRS_Total", "ALSFRS_R_Total", *_R_ITEMS,
                       "Mode_of_Administration", "ALSFRS_Responded_By"],
            _numeric([*_ALSFRS_ITEMS, *_R_ITEMS, "ALSFRS_Delta", "ALSFRS_Total", "ALSFRS_R_Total"]),
            required=("ALSFRS_Delta", "ALSFRS_R_Total"),
            rules={**dict.fromkeys([*_ALSFRS_ITEMS, *_R_ITEMS], ITEM_RULE),
                   "ALSFRS_Total": ("{v} BETWEEN 0 AND 40", "ALSFRS total outside 0-40"),
                   "ALSFRS_R_Total": ("{v} BETWEEN 0 AND 48", "ALSFRS-R total outside 0-48")},
            description="ALSFRS and ALSFRS-R assessments, one row per assessment."),
    _proact("ALSHISTORY", ["Site_of_Onset___Bulbar", "Site_of_Onset___Limb", "Site_of_Onset___Limb_and_Bulbar",
                           "Site_of_Onset___Other", "Site_of_Onset___Other_Specify", "Site_of_Onset___Spine",
                           "Subject_ALS_History_Delta", "Disease_Duration", "Symptom", "Symptom_Other_Specify",
                           "Location", "Location_Other_Specify", "Site_of_Onset", "Onset_Delta", "Diagnosis_Delta"],
            _numeric(["Site_of_Onset___Bulbar", "Site_of_Onset___Limb", "Site_of_Onset___Limb_and_Bulbar",
                      "Site_of_Onset___Other", "Site_of_Onset___Spine", "Subject_ALS_History_Delta",
                      "Disease_Duration", "Onset_Delta", "Diagnosis_Delta"]),
            description="ALS history: onset site (two encodings), symptom, onset and diagnosis deltas."),
    _proact("CONMEDS", ["Medication_Coded", "Start_Delta", "Stop_Delta", "Dose", "Unit", "Frequency", "Route"],
            _numeric(["Start_Delta", "Stop_Delta"]), required_file=False, description="Concomitant medication."),
    _proact("DEATHDATA", ["Subject_Died", "Death_Days"], _numeric(["Death_Days"]),
            required=("Subject_Died", "Death_Days"),
            description="Vital status and day of death from trial baseline."),
    _proact("DEMOGRAPHICS", ["Demographics_Delta", "Age", "Date_of_Birth", "Ethnicity",
                             "Race_Americ_Indian_Alaska_Native", "Race_Asian", "Race_Black_African_American",
                             "Race_Hawaiian_Pacific_Islander", "Race_Unknown", "Race_Caucasian", "Race_Other",
                             "Race_Other_Specify", "Sex"],
            _numeric(["Demographics_Delta", "Age", "Date_of_Birth", "Race_Americ_Indian_Alaska_Native", "Race_Asian",
                      "Race_Black_African_American", "Race_Hawaiian_Pacific_Islander", "Race_Unknown",
                      "Race_Caucasian", "Race_Other"]),
            required=("Age", "Sex"), rules={"Age": ("{v} BETWEEN 0 AND 120", "age outside 0-120")},
            description="Demographics, one row per subject."),
    _proact("ELESCORIAL", ["el_escorial", "delta_days"], _numeric(["delta_days"]), required_file=False,
            description="El Escorial diagnostic category."),
    _proact("FAMILYHISTORY", ["Family_History_Delta", "Other_Specify", "Family_Hx_of_ALS_Mutation",
                              "Family_Hx_of_ALS_Mutation_Other", "Family_Hx_of_Neuro_Disease", *_FAMILY,
                              "Family_Hx_of_Neuro_Disease_Other", "Neurological_Disease",
                              "Neurological_Disease_Other", "Son", "Daughter", "Sister", "Brother"],
            _numeric(["Family_History_Delta"]), required_file=False, description="Family history."),
    _proact("FVC", ["Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters_Trial_2",
                    "pct_of_Normal_Trial_2", "Subject_Liters_Trial_3", "pct_of_Normal_Trial_3",
                    "Forced_Vital_Capacity_Delta", "subject_normal", "Forced_Vital_Capacity_Units"],
            _numeric(["Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters_Trial_2",
                      "pct_of_Normal_Trial_2", "Subject_Liters_Trial_3", "pct_of_Normal_Trial_3",
                      "Forced_Vital_Capacity_Delta", "subject_normal"]),
            required_file=False, description="Forced vital capacity, up to three trials per visit."),
    _proact("HANDGRIPSTRENGTH", _STRENGTH, _numeric(["MS_Delta"]), required_file=False,
            description="Hand-grip strength, long format."),
    _proact("LABS", ["Test_Name", "Test_Result", "Test_Unit", "Laboratory_Delta"], _numeric(["Laboratory_Delta"]),
            required_file=False, description="Laboratory results, long format; Test_Result stays text."),
    _proact("MUSCLESTRENGTH", [*_STRENGTH, "Test_Break"], _numeric(["MS_Delta"]), required_file=False,
            description="Muscle strength, long format."),
    _proact("RILUZOLE", ["Subject_used_Riluzole", "Riluzole_use_Delta"], _numeric(["Riluzole_use_Delta"]),
            required=("Subject_used_Riluzole",), description="Riluzole use (Yes/No)."),
    _proact("SVC", ["Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters__Trial_2_",
                    "pct_of_Normal_Trial_2", "Subject_Liters__Trial_3_", "pct_of_Normal_Trial_3", "Subject_Normal",
                    "Slow_vital_Capacity_Delta", "Slow_Vital_Capacity_Units"],
            _numeric(["Subject_Liters_Trial_1", "pct_of_Normal_Trial_1", "Subject_Liters__Trial_2_",
                      "pct_of_Normal_Trial_2", "Subject_Liters__Trial_3_", "pct_of_Normal_Trial_3",
                      "Subject_Normal", "Slow_vital_Capacity_Delta"]),
            required_file=False, description="Slow vital capacity."),
    _proact("TREATMENT", ["Study_Arm", "Treatment_Group_Delta"], _numeric(["Treatment_Group_Delta"]),
            required=("Study_Arm",), description="Trial arm (Active/Placebo), one row per subject."),
    _proact("VITALSIGNS", ["Vital_Signs_Delta", "Blood_Pressure_Diastolic", "Blood_Pressure_Diastolic_Units",
                           "Blood_Pressure_Systolic", "Blood_Pressure_Systolic_Units", "Pulse", "Pulse_Units",
                           "Respiratory_Rate", "Respiratory_Rate_Units", "Temperature", "Temperature_Units",
                           "Weight", "Weight_Units", "Height", "Height_Units", "Baseline_Weight", "Endpoint_Weight",
                           "Supine_Blood_Pressure_Diastolic", "Supine_Blood_Pressure_Systolic", "Supine_Pulse",
                           "Standing_Blood_Pressure_Diastolic", "Standing_Blood_Pressure_Systolic",
                           "Standing_Pulse", "Baseline_Standing_BP_Diastolic", "Baseline_Standing_BP_Systolic",
                           "Baseline_Supine_BP_Diastolic", "Baseline_Supine_BP_Systolic",
                           "Endpoint_Standing_BP_Diastolic", "Endpoint_Standing_BP_Systolic",
                           "Endpoint_Supine_BP_Diastolic", "Endpoint_Supine_BP_Systolic"],
            _numeric(_VITALS_NUM), required_file=False, description="Vital signs, wide format."),
)

# --- PMS export (CDISC SDTM-like); dates stay text here and are parsed in dbt staging (partial/legacy forms).
_PMS_KEY = (Column("STUDYID"), Column("USUBJID", required=True, not_null=True))

# A non-empty date that does not parse never silently becomes NULL: the row is quarantined with the reason. (Regex
# counts are spelled out: `{v}` is the only format field a rule may hold.) dm dates are not checked here - a
# quarantined dm row would take the whole patient with it; dbt's blocking tests name those patients instead.
_D8 = "[0-9]" * 8
_ISO = (f"(CASE WHEN regexp_full_match(trim({{v}}), '{_D8}') THEN substr(trim({{v}}), 1, 4) || '-' || "
        "substr(trim({v}), 5, 2) || '-' || substr(trim({v}), 7, 2) ELSE trim({v}) END)")
_DAY = "(regexp_full_match({iso}, '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]') AND try_cast({iso} AS DATE) IS NOT NULL)"
_MONTH = "(regexp_full_match({iso}, '[0-9][0-9][0-9][0-9]-[0-9][0-9]') AND try_cast({iso} || '-01' AS DATE) IS NOT NULL)"
_YEAR = "regexp_full_match({iso}, '[0-9][0-9][0-9][0-9]')"


def _date(name: str, partial: bool = False, required: bool = False) -> Column:
    iso = _ISO
    forms = [_DAY.format(iso=iso)] + ([_MONTH.format(iso=iso), _YEAR.format(iso=iso)] if partial else [])
    rule = "{v} IS NULL OR trim({v}) = '' OR " + " OR ".join(forms)
    text = ("not a date (YYYY-MM-DD, YYYY-MM, YYYY or YYYYMMDD)" if partial
            else "not a complete date (YYYY-MM-DD or YYYYMMDD)")
    return Column(name, required=required, rule=rule, rule_text=text)


def _seq(name: str) -> Column:
    return Column(name, INTEGER, required=True)


def _pms(domain: str, rest: tuple[Column, ...], description: str, identifiers: tuple[str, ...] = (),
         required_file: bool = False) -> TableSchema:
    return TableSchema("pms", domain, (*_PMS_KEY, *rest), description=description, identifiers=identifiers,
                       pseudonymised=("USUBJID",), required_file=required_file)


PMS_TABLES: tuple[TableSchema, ...] = (
    _pms("dm", (Column("SUBJID"), Column("SITEID", required=True), Column("PATINIT"), Column("MRN"),
                Column("BRTHDTC"), Column("AGE", INTEGER, required=True, rule="{v} BETWEEN 0 AND 120",
                                          rule_text="age outside 0-120"),
                Column("SEX", required=True), Column("RACE"), Column("COUNTRY", required=True),
                Column("RFSTDTC", required=True), Column("RFENDTC"), Column("DTHDTC"), Column("DTHFL")),
         "Demographics, one row per patient.", identifiers=("SUBJID", "PATINIT", "MRN", "BRTHDTC"),
         required_file=True),
    _pms("mh", (_seq("MHSEQ"), Column("MHCAT", required=True), Column("MHTERM"), Column("MHLOC"), Column("MHEVAL"),
                _date("MHSTDTC", partial=True, required=True)), "ALS history: onset, diagnosis, El Escorial."),
    _pms("ex", (_seq("EXSEQ"), Column("EXTRT"), Column("EXDOSE", DOUBLE), Column("EXDOSU"), Column("EXROUTE"),
                Column("EXCAT", required=True), _date("EXSTDTC", required=True)), "Exposure: one row per injection.",
         required_file=True),
    _pms("qs", (_seq("QSSEQ"), Column("QSCAT"), Column("QSTESTCD", required=True), Column("QSTEST"),
                Column("QSSCAT"), Column("QSORRES"),
                Column("QSSTRESN", DOUBLE, required=True, rule="{v} BETWEEN 0 AND 48", rule_text="score outside 0-48"),
                Column("VISIT"), _date("QSDTC", required=True)), "ALSFRS-R, one row per item per assessment.",
         required_file=True),
    _pms("cm", (_seq("CMSEQ"), Column("CMTRT"), Column("CMDECOD"), _date("CMSTDTC", partial=True), _date("CMENDTC", partial=True)),
         "Concomitant medication."),
    _pms("ae", (_seq("AESEQ"), Column("AETERM"), Column("AEDECOD", required=True), Column("AEBODSYS", required=True),
                Column("AESEV"), Column("AESER"), Column("AESHOSP"), Column("AESDTH"), Column("AEREL"),
                Column("AEOUT"), _date("AESTDTC", partial=True), _date("AEENDTC", partial=True)), "Adverse events, MedDRA-coded."),
    _pms("pr", (_seq("PRSEQ"), Column("PRTRT", required=True), _date("PRSTDTC", partial=True)), "Disease-milestone procedures."),
    _pms("ds", (_seq("DSSEQ"), Column("DSDECOD", required=True), _date("DSSTDTC")), "Disposition and last contact."),
)

ALL_TABLES: tuple[TableSchema, ...] = (*PROACT_TABLES, *PMS_TABLES)

# The table that defines a source's patients: a patient whose record here is quarantined has their rows in the
# source's other tables held back (and is excluded from the cohort for data quality). Loaded first.
PATIENT_TABLES = {"proact": "proact_demographics", "pms": "pms_dm"}


def proact_columns() -> dict[str, list[str]]:
    """Column names in file order per PRO-ACT form (what the generator writes)."""
    return {t.name: t.column_names for t in PROACT_TABLES}


def pms_columns() -> dict[str, list[str]]:
    return {t.name: t.column_names for t in PMS_TABLES}


def by_table(name: str) -> TableSchema:
    for t in ALL_TABLES:
        if t.table == name:
            return t
    raise KeyError(name)
