"""Synthetic PRO-ACT download: 16 `PROACT_<FORM>.csv` files in the real layout, written in subject chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthetic import calibration as cal
from synthetic.disease import (
    DAYS_PER_MONTH,
    alsfrs_r_items,
    death_days,
    expected_total,
    linear_predictor,
    lognormal_from_median_mean,
)

# Per-trial design, drawn once from the master seed: length, visit interval, instrument, coding styles.
# The 23 trials' lengths in days (shuffled over the trials by the design seed): 6 months to 2 years.
TRIAL_LENGTHS = np.array([168] * 2 + [252] * 3 + [280] * 2 + [336] * 5 + [364] * 3 + [392] * 2 + [448] * 2
                         + [504, 546, 637, 728])
VISIT_INTERVALS = np.array([28, 30, 42, 56, 84])
SEVERITY_STYLES = [["Mild", "Moderate", "Severe"], ["MILD", "MODERATE", "SEVERE"], ["Yes", "No", "No"], ["", "", ""]]
OUTCOME_STYLES = [["Recovery", "In progress", "Death"], ["RECOVERED", "ONGOING (PERSISTENT)", "FATAL"]]
SYMPTOMS = ["Weakness", "Speech", "Swallowing", "Cramps", "Fasciculations", "Atrophy", "Stiffness"]
LOCATIONS = ["HAND", "ARM", "LEG", "FOOT", "MOUTH", "TONGUE", "SHOULDER", "UPPER EXTREMITY", "LOWER EXTREMITY"]
PROACT_AES = [
    ("Fall", "Injury, poisoning and procedural complications", "Inj&P", 10022117),
    ("Headache", "Nervous system disorders", "Nerv", 10029205),
    ("Constipation", "Gastrointestinal disorders", "Gastr", 10017947),
    ("Nasopharyngitis", "Infections and infestations", "Infec", 10021881),
    ("Muscle spasms", "Musculoskeletal and connective tissue disorders", "Musc", 10028395),
    ("Dyspnoea", "Respiratory, thoracic and mediastinal disorders", "Resp", 10038738),
    ("Fatigue", "General disorders and administration site conditions", "Genrl", 10018065),
]
LAB_TESTS = [("ALT(SGPT)", "U/L", 25, 10), ("AST(SGOT)", "U/L", 24, 8), ("Creatinine", "mg/dL", 0.8, 0.2),
             ("Hemoglobin", "g/dL", 14, 1.3), ("Sodium", "mmol/L", 140, 2.5), ("CK", "IU/L", 180, 90),
             ("Glucose", "mg/dL", 95, 15), ("Urine Color", "", 0, 0)]


def trial_design(rng: np.random.Generator) -> pd.DataFrame:
    n = cal.N_TRIALS
    # trials by instrument: 6 original ALSFRS, 14 ALSFRS-R, 3 both (placebo subjects mostly in ALSFRS-R trials)
    instrument = np.array(["ALSFRS"] * 6 + ["ALSFRS-R"] * 14 + ["both"] * 3)
    rng.shuffle(instrument)
    design = pd.DataFrame({
        "trial": np.arange(n),
        "weight": rng.dirichlet(np.full(n, 3.0)),
        "length": rng.permutation(TRIAL_LENGTHS),
        "interval": rng.choice(VISIT_INTERVALS, n, p=[.25, .2, .3, .2, .05]),
        "instrument": instrument,
        "severity_style": rng.integers(0, len(SEVERITY_STYLES), n),
        "outcome_style": rng.integers(0, len(OUTCOME_STYLES), n),
        "death_tracking": rng.uniform(0.1, 0.7, n),  # share of subjects whose deaths are followed after trial end
    })
    # Which trials hold the placebo subjects differs from seed to seed; scale the trials' shares so that, over the
    # placebo subjects of the revised-scale trials (where the eligible controls come from), the share whose deaths
    # are followed after the trial is PLACEBO_DEATH_TRACKING at any seed (the later deaths of the eligible
    # controls then vary by sampling, not by the trial draw).
    p = np.diff(_trial_cdf(design)[0], prepend=0.0) * (design["instrument"].to_numpy() != "ALSFRS")
    tracking = design["death_tracking"].to_numpy()
    for _ in range(20):
        tracking = np.clip(tracking * PLACEBO_DEATH_TRACKING / (p @ tracking / p.sum()), 0.0, 1.0)
    design["death_tracking"] = tracking
    return design


def _fmt(values, missing=None) -> np.ndarray:
    """Numbers as CSV text: integers without '.0', halves as '3.5', missing (NaN or mask) as ''."""
    v = np.asarray(values, dtype=float)
    miss = np.isnan(v) if missing is None else (np.isnan(v) | missing)
    safe = np.where(miss, 0, v)
    whole = safe == np.round(safe)
    text = np.where(whole, np.round(safe).astype(np.int64).astype(str), np.round(safe, 2).astype(str))
    return np.where(miss, "", text).astype(object)


def _flag(mask) -> np.ndarray:
    return np.where(mask, "1", "").astype(object)


def subject_ids(start: int, n: int, total: int) -> np.ndarray:
    """Unique, scrambled integer ids (2-6 digits at the paper's scale): an affine bijection of 0..M-1."""
    m = 999_900 if total <= 900_000 else 9_999_900
    i = np.arange(start, start + n, dtype=np.int64)
    return 100 + (i * 7919 + 104_729) % m


# Subjects across files. Every subject is in DEMOGRAPHICS; TREATMENT holds 9,994 of 11,675 (arm known), and the
# other files hold subsets drawn per subject with the measured probabilities, conditional on having a TREATMENT
# row or not (proact.md "Subjects across files"). Three files are also tied to having ALSFRS rows: P(in file |
# ALSFRS rows) for subjects (in, not in) TREATMENT; the probability without ALSFRS rows follows from the counts.
GIVEN_ALSFRS = {"ALSHISTORY": (0.95, 0.995), "RILUZOLE": (0.99, 0.70), "FVC": (0.90, 0.65)}
MEMBERSHIP_FILES = ["ALSHISTORY", "RILUZOLE", "FVC", "SVC", "ELESCORIAL", "HANDGRIPSTRENGTH", "FAMILYHISTORY"]
# Trials by group (placebo, active, no TREATMENT row): the trial weights, raked so that trials with the revised
# scale (ALSFRS-R or both) hold REVISED_SHARE of the group, trials of 392 days or more LONG_SHARE and trials of
# 600 days or more VERY_LONG_SHARE (None: as the weights give). The revised share sets how many first assessments
# carry an ALSFRS-R total (the paper's baseline criterion); placebo subjects come mostly from the longer trials
# (the eligible controls' follow-up, median 397 days, is longer than the download's last visits, median 326).
REVISED_SHARE = (0.75, 0.42, 0.66)
LONG_SHARE = (0.9, 0.45, 0.45)
VERY_LONG_SHARE = (0.15, 0.05, 0.05)
# DEATHDATA: P(listed) for subjects who died up to 30 days after the end of the trial (or their last visit)
# and for those whose death the trial followed up later, by group; subjects alive (or dying unrecorded) are
# listed `No` with the probability that makes the file's subject count.
DEATH_LISTED = ((0.61, 0.35), (0.6, 0.6), (0.15, 0.15))
PLACEBO_DEATH_TRACKING = 0.42


def _shares() -> dict[str, np.ndarray]:
    """P(in file | group, ALSFRS rows or not): arrays indexed [group, has_alsfrs] (groups placebo, active, none)."""
    n_all, n_out = cal.PROACT_FILE_SUBJECTS["DEMOGRAPHICS"]
    n_t, n_p = n_all - n_out, cal.PROACT_PLACEBO_SUBJECTS
    a_all, a_out = cal.PROACT_FILE_SUBJECTS["ALSFRS"]
    p_alsfrs = np.array([1 - cal.PROACT_PLACEBO_WITHOUT_ALSFRS / n_p,
                         (a_all - a_out - (n_p - cal.PROACT_PLACEBO_WITHOUT_ALSFRS)) / (n_t - n_p), a_out / n_out])
    pa = np.array([(a_all - a_out) / n_t, a_out / n_out])  # P(ALSFRS rows | in TREATMENT or not)
    out = {"ALSFRS": p_alsfrs}
    for form in MEMBERSHIP_FILES:
        total, outside = cal.PROACT_FILE_SUBJECTS[form]
        p = np.array([(total - outside) / n_t, outside / n_out])
        p1 = np.array(GIVEN_ALSFRS.get(form, p))
        p0 = np.clip((p - p1 * pa) / (1 - pa), 0, 1)
        out[form] = np.array([[p0[0], p1[0]], [p0[0], p1[0]], [p0[1], p1[1]]])
    return out


SHARES = _shares()


def _trial_cdf(trials: pd.DataFrame) -> np.ndarray:
    """Cumulative trial probabilities by group (3 x trials): the weights, raked (iterative proportional fitting)
    to the group's revised-scale and long-trial shares."""
    parts = [(trials["instrument"].to_numpy() != "ALSFRS", REVISED_SHARE),
             (trials["length"].to_numpy() >= 392, LONG_SHARE), (trials["length"].to_numpy() >= 600, VERY_LONG_SHARE)]
    rows = []
    for g in range(3):
        p = trials["weight"].to_numpy() / trials["weight"].sum()
        for _ in range(50):
            for mask, share in parts:
                if share[g] is not None and 0 < p[mask].sum() < 1:
                    p = np.where(mask, p * share[g] / p[mask].sum(), p * (1 - share[g]) / p[~mask].sum())
        rows.append(np.cumsum(p))
    cdf = np.array(rows)
    cdf[:, -1] = 1.0
    return cdf


def draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Bernoulli(p) draws with (almost) exact counts: among subjects of equal p, a random floor(p * size + U)
    of them. Keeps the files' subject counts at their targets at any scale, not only on average."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    idx = np.lexsort((rng.uniform(size=n), p))
    ps = p[idx]
    _, start, size = np.unique(ps, return_index=True, return_counts=True)
    quota = np.floor(ps[start] * size + rng.uniform(size=len(start)))
    take = np.arange(n) - np.repeat(start, size) < np.repeat(quota, size)
    out = np.empty(n, dtype=bool)
    out[idx] = take
    return out


def simulate_subjects(rng: np.random.Generator, ids: np.ndarray, trials: pd.DataFrame) -> pd.DataFrame:
    n = len(ids)
    in_treatment = draw(rng, np.full(n, cal.PROACT_TREATMENT_SUBJECTS / cal.PROACT_DEMOGRAPHICS_SUBJECTS))
    placebo = draw(rng, np.where(in_treatment, cal.PROACT_PLACEBO_SUBJECTS / cal.PROACT_TREATMENT_SUBJECTS, 0))
    group = np.where(placebo, 0, np.where(in_treatment, 1, 2))
    age = np.clip(rng.normal(cal.AGE_MEAN, cal.AGE_SD, n), cal.AGE_MIN, cal.AGE_MAX)
    male = rng.uniform(size=n) < cal.MALE_FRACTION
    bulbar = rng.uniform(size=n) < cal.BULBAR_FRACTION
    riluzole = rng.uniform(size=n) < cal.RILUZOLE_FRACTION
    onset_to_base = lognormal_from_median_mean(
        rng, cal.ONSET_TO_BASELINE_MEDIAN_MONTHS, cal.ONSET_TO_BASELINE_MEAN_MONTHS, n) * DAYS_PER_MONTH
    onset_to_dx = lognormal_from_median_mean(
        rng, cal.ONSET_TO_DIAGNOSIS_MEDIAN_MONTHS, cal.ONSET_TO_DIAGNOSIS_MEAN_MONTHS, n) * DAYS_PER_MONTH
    onset_to_dx = np.minimum(onset_to_dx, onset_to_base - 14)
    slope = lognormal_from_median_mean(rng, cal.SLOPE_MEDIAN, cal.SLOPE_MEAN, n)
    # Baseline reflects the loss since onset at a (slower, early-phase) rate; clipped to the scale.
    baseline = np.clip(48 - 0.55 * slope * onset_to_base / DAYS_PER_MONTH + rng.normal(1.0, 4.0, n), 12, 48)
    death = death_days(rng, linear_predictor(slope, age, bulbar, riluzole, 0))
    cdf = _trial_cdf(trials)
    trial = trials["trial"].to_numpy()[
        np.minimum((rng.uniform(size=n)[:, None] > cdf[group]).sum(axis=1), len(trials) - 1)]
    has_alsfrs = draw(rng, SHARES["ALSFRS"][group])
    dropout = np.where(rng.uniform(size=n) < 0.2, rng.uniform(30, 540, n), np.inf)
    member = {f"in_{form.lower()}": draw(rng, SHARES[form][group, has_alsfrs.astype(int)])
              for form in MEMBERSHIP_FILES}
    return pd.DataFrame({
        "subject_id": ids, "in_treatment": in_treatment, "placebo": placebo, "group": group, "age": age,
        "male": male, "bulbar": bulbar, "riluzole": riluzole, "onset_delta": -np.round(onset_to_base),
        "diagnosis_delta": -np.round(onset_to_base - onset_to_dx), "slope": slope, "baseline": baseline,
        "death_day": death, "trial": trial, "has_alsfrs": has_alsfrs, "dropout": dropout, **member,
    }).merge(trials, on="trial", how="left")


def course(rng: np.random.Generator, s: pd.DataFrame) -> pd.DataFrame:
    """Every subject's scheduled visits (trial interval, to the end of the trial, death or dropout) with the
    simulated ALSFRS-R items: ALSFRS rows for subjects in that file, and the visit days of FVC, SVC and grip
    measurements for every subject, with or without ALSFRS rows. Columns: `row` (position of the subject in
    `s`), `visit`, `day` and the items `i0` ... `i11`."""
    end = np.minimum(np.minimum(s["length"].to_numpy(), s["death_day"].to_numpy() - 1), s["dropout"].to_numpy())
    max_visits = int(np.ceil(TRIAL_LENGTHS.max() / VISIT_INTERVALS.min())) + 1
    k = np.arange(max_visits)
    days = k[None, :] * s["interval"].to_numpy()[:, None] + rng.integers(-4, 5, (len(s), max_visits))
    days[:, 0] = np.where(rng.uniform(size=len(s)) < 0.05, -rng.integers(1, 8, len(s)), 0)
    valid = (days <= end[:, None]) | (k[None, :] == 0)
    row_subject, row_visit = np.nonzero(valid)
    day = days[row_subject, row_visit].astype(float)
    total = (expected_total(s["baseline"].to_numpy()[row_subject], s["slope"].to_numpy()[row_subject], day)
             + rng.normal(0, 1.0, len(day)))
    items = alsfrs_r_items(48 - total, s["bulbar"].to_numpy()[row_subject], rng).astype(float)
    return pd.DataFrame({"row": row_subject, "visit": row_visit, "day": day,
                         **{f"i{j}": items[:, j] for j in range(12)}})


ITEMS = [f"i{j}" for j in range(12)]


def alsfrs_rows(rng: np.random.Generator, s: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """One row per assessment of the subjects in the file, the four row kinds of the real file by trial
    instrument."""
    v = visits[s["has_alsfrs"].to_numpy()[visits["row"].to_numpy()]]
    sub = s.iloc[v["row"].to_numpy()]
    day = v["day"].to_numpy()
    items = v[ITEMS].to_numpy()
    instrument = sub["instrument"].to_numpy()
    n = len(day)
    original = (instrument == "ALSFRS") | (instrument == "both")
    revised = (instrument == "ALSFRS-R") | (instrument == "both")
    total_only = revised & ~original & (rng.uniform(size=n) < 0.04)
    q = items[:, :9].copy()
    # Original-scale-only rows use half points now and then (rows that also carry the integer ALSFRS-R total do
    # not: the real file's stored totals equal the item sums in ~99.8 % of rows).
    half = (instrument == "ALSFRS")[:, None] & (rng.uniform(size=q.shape) < 0.04) & (q > 0)
    q = q - 0.5 * half
    q10 = np.where(rng.uniform(size=n) < 0.7, items[:, 9], np.clip(items[:, 9] + rng.choice([-1, 1], n), 0, 4))
    gastro = (items[:, 2] <= 1) & (rng.uniform(size=n) < 0.8)
    both5 = rng.uniform(size=n) < 0.01
    q5a = np.where(~gastro | both5, q[:, 4], np.nan)
    q5b = np.where(gastro | both5, q[:, 4], np.nan)
    alsfrs_total = q.sum(axis=1) + q10
    r_total = items.sum(axis=1)
    # Stored totals equal the item sums in ~99.8 % of rows.
    off = rng.uniform(size=n) < 0.002
    r_total = np.where(off, np.clip(r_total + rng.choice([-1, 1], n), 0, 48), r_total)
    item_miss = total_only[:, None] | ~(original | revised)[:, None]
    cols = {"subject_id": sub["subject_id"].to_numpy().astype(str)}
    for j, name in enumerate(["Q1_Speech", "Q2_Salivation", "Q3_Swallowing", "Q4_Handwriting"]):
        cols[name] = _fmt(q[:, j], item_miss[:, 0])
    cols["Q5a_Cutting_without_Gastrostomy"] = _fmt(q5a, total_only)
    cols["Q5b_Cutting_with_Gastrostomy"] = _fmt(q5b, total_only)
    for j, name in enumerate(["Q6_Dressing_and_Hygiene", "Q7_Turning_in_Bed", "Q8_Walking", "Q9_Climbing_Stairs"]):
        cols[name] = _fmt(q[:, 5 + j], total_only)
    cols["Q10_Respiratory"] = _fmt(q10, ~original)
    delta_missing = rng.uniform(size=n) < 0.001
    cols["ALSFRS_Delta"] = _fmt(day, delta_missing)
    cols["ALSFRS_Total"] = _fmt(alsfrs_total, ~original)
    cols["ALSFRS_R_Total"] = _fmt(r_total, ~revised)
    for j, name in enumerate(["R_1_Dyspnea", "R_2_Orthopnea", "R_3_Respiratory_Insufficiency"]):
        cols[name] = _fmt(items[:, 9 + j], ~revised | total_only)
    mode_given = rng.uniform(size=n) < 0.02
    cols["Mode_of_Administration"] = np.where(mode_given, rng.choice(["In person", "Telephone"], n), "")
    cols["ALSFRS_Responded_By"] = np.where(mode_given, rng.choice(["Subject", "Subject via Caregiver"], n), "")
    out = pd.DataFrame(cols)
    # Duplicate (subject, delta) pairs that are not fully duplicated rows: a re-entered assessment with one
    # item scored differently.
    dup = out.sample(frac=0.003, random_state=rng.integers(2**31)).copy()
    dup["Q1_Speech"] = np.where(dup["Q1_Speech"] == "4", "3", np.where(dup["Q1_Speech"] == "", "", "4"))
    dup = dup[dup["Q1_Speech"] != ""]
    return pd.concat([out, dup], ignore_index=True)


def last_visit(s: pd.DataFrame, visits: pd.DataFrame) -> np.ndarray:
    """Each subject's last scheduled visit day (its last ALSFRS visit when it has ALSFRS rows)."""
    return visits.groupby("row")["day"].max().reindex(np.arange(len(s))).to_numpy()


def deathdata_rows(rng, s: pd.DataFrame, last_visit_day: np.ndarray, complete: bool = False) -> pd.DataFrame:
    """Subjects whose death falls in their trial's reporting window (the end of the trial or last visit, plus
    30 days, or much longer where the trial followed deaths up) are listed `Yes` with a probability by group;
    the rest are listed `No` with the probability that makes the file's subject counts (in / not in
    TREATMENT). Absent subjects have unknown vital status. `complete`: every death up to the end of the trial +
    30 days is listed (the calibrated file misses ~40 % of them; the simulation audit compares both)."""
    n = len(s)
    tracked = rng.uniform(size=n) < s["death_tracking"].to_numpy()
    window = (np.maximum(last_visit_day, s["length"].to_numpy())
              + np.where(tracked, rng.uniform(0, 1100, n), 30))
    died = s["death_day"].to_numpy() <= window
    in_t = s["in_treatment"].to_numpy()
    after = s["death_day"].to_numpy() > np.maximum(last_visit_day, s["length"].to_numpy()) + 30
    listed = np.array(DEATH_LISTED)[s["group"].to_numpy()]
    if complete:
        listed[:, 0] = 1.0
    p = np.where(after, listed[:, 1], listed[:, 0]) * died
    total, outside = cal.PROACT_FILE_SUBJECTS["DEATHDATA"]
    n_all, n_out = cal.PROACT_FILE_SUBJECTS["DEMOGRAPHICS"]
    for m, share in ((in_t, (total - outside) / (n_all - n_out)), (~in_t, outside / n_out)):
        if m.any():
            alive = max((~died)[m].mean(), 1e-9)
            p = np.where(m & ~died, np.clip((share - p[m].mean()) / alive, 0, 1), p)
    present = draw(rng, p)
    days = np.round(s["death_day"].to_numpy())
    out = pd.DataFrame({
        "subject_id": s["subject_id"].astype(str).to_numpy(),
        "Subject_Died": np.where(died, "Yes", "No"),
        "Death_Days": _fmt(days, ~died | (rng.uniform(size=n) < 0.07)),
    })[present]
    return out


def history_rows(rng, s: pd.DataFrame) -> pd.DataFrame:
    s = s[s["in_alshistory"]]
    n = len(s)
    ids = s["subject_id"].astype(str).to_numpy()
    bulbar = s["bulbar"].to_numpy()
    text = rng.uniform(size=n) < 0.6
    site_text = np.where(bulbar, "Onset: Bulbar", np.where(rng.uniform(size=n) < 0.03, "Onset: Other", "Onset: Limb"))
    both_flags = rng.uniform(size=n) < 0.01
    empty = np.full(n, "", dtype=object)
    has_dx = rng.uniform(size=n) < 0.5
    site = pd.DataFrame({
        "subject_id": ids,
        "Site_of_Onset___Bulbar": np.where(~text, _flag(bulbar | both_flags), ""),
        "Site_of_Onset___Limb": np.where(~text, _flag(~bulbar | both_flags), ""),
        "Site_of_Onset___Limb_and_Bulbar": empty, "Site_of_Onset___Other": empty,
        "Site_of_Onset___Other_Specify": empty, "Site_of_Onset___Spine": empty,
        "Subject_ALS_History_Delta": "0", "Disease_Duration": empty, "Symptom": empty,
        "Symptom_Other_Specify": empty, "Location": empty, "Location_Other_Specify": empty,
        "Site_of_Onset": np.where(text, site_text, ""),
        "Onset_Delta": np.where(rng.uniform(size=n) < 0.3, _fmt(s["onset_delta"]), ""),
        "Diagnosis_Delta": _fmt(s["diagnosis_delta"], ~has_dx),
    })
    symptom = site.copy()
    for c in site.columns[1:]:
        symptom[c] = ""
    symptom["Subject_ALS_History_Delta"] = "0"
    symptom["Symptom"] = np.where(bulbar, rng.choice(["Speech", "Swallowing"], n), rng.choice(SYMPTOMS, n))
    symptom["Location"] = np.where(bulbar, "MOUTH", rng.choice(LOCATIONS, n))
    symptom["Onset_Delta"] = _fmt(s["onset_delta"])
    # A second symptom for some subjects: cramps, or fasciculations where the first was cramps (never an exact
    # duplicate line).
    extra = symptom[rng.uniform(size=n) < 0.2].copy()
    extra["Symptom"] = np.where(extra["Symptom"] == "Cramps", "Fasciculations", "Cramps")
    return pd.concat([site, symptom, extra], ignore_index=True)


def small_tables(rng, s: pd.DataFrame, alsfrs: pd.DataFrame, visits: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Demographics, treatment, riluzole, El Escorial, FVC, SVC, labs, vitals, AEs, conmeds, family history,
    grip and muscle strength. FVC, SVC and grip are measured at the subject's scheduled visits (`course`), whether
    or not the subject has ALSFRS rows."""
    n = len(s)
    ids = s["subject_id"].astype(str).to_numpy()
    age = np.round(s["age"].to_numpy())
    dob_given = rng.uniform(size=n) < 0.4
    age_missing = dob_given & (rng.uniform(size=n) < 0.25)
    caucasian = rng.uniform(size=n) < 0.9
    out: dict[str, pd.DataFrame] = {}
    out["DEMOGRAPHICS"] = pd.DataFrame({
        "subject_id": ids, "Demographics_Delta": np.where(rng.uniform(size=n) < 0.8, "0", ""),
        "Age": _fmt(age, age_missing),
        "Date_of_Birth": _fmt(-np.round(s["age"].to_numpy() * 365.25), ~dob_given),
        "Ethnicity": rng.choice(["Non-Hispanic or Latino", "Hispanic or Latino", "Unknown", ""], n, p=[.6, .05, .05, .3]),
        "Race_Americ_Indian_Alaska_Native": "", "Race_Asian": _flag(~caucasian & (rng.uniform(size=n) < 0.4)),
        "Race_Black_African_American": _flag(~caucasian & (rng.uniform(size=n) < 0.5)),
        "Race_Hawaiian_Pacific_Islander": "", "Race_Unknown": "", "Race_Caucasian": _flag(caucasian),
        "Race_Other": "", "Race_Other_Specify": "",
        "Sex": np.where(rng.uniform(size=n) < 0.005, "", np.where(s["male"], "Male", "Female")),
    })
    t = s[s["in_treatment"]]
    out["TREATMENT"] = pd.DataFrame({
        "subject_id": t["subject_id"].astype(str).to_numpy(),
        "Study_Arm": np.where(t["placebo"], "Placebo", "Active"),
        "Treatment_Group_Delta": rng.choice(["0", "", "7", "14", "119"], len(t), p=[.6, .3, .04, .04, .02]),
    })
    r = s[s["in_riluzole"]]
    out["RILUZOLE"] = pd.DataFrame({
        "subject_id": r["subject_id"].astype(str).to_numpy(),
        "Subject_used_Riluzole": np.where(r["riluzole"], "Yes", "No"),
        "Riluzole_use_Delta": rng.choice(["0", ""], len(r), p=[.7, .3]),
    })
    e = s[s["in_elescorial"]]
    out["ELESCORIAL"] = pd.DataFrame({
        "subject_id": e["subject_id"].astype(str).to_numpy(),
        "el_escorial": rng.choice(list(cal.EL_ESCORIAL), len(e), p=list(cal.EL_ESCORIAL.values())),
        "delta_days": rng.choice(["0", ""], len(e), p=[.5, .5]),
    })
    # FVC at every other scheduled visit, declining with the respiratory items.
    sched_member = lambda col: s[col].to_numpy()[visits["row"].to_numpy()]  # noqa: E731
    a = visits[sched_member("in_fvc") & (visits["visit"].to_numpy() % 2 == 0)]
    a_ids = s["subject_id"].astype(str).to_numpy()[a["row"].to_numpy()]
    m = len(a)
    pct = np.clip(100 - (4 - a["i9"].to_numpy()) * 14 + rng.normal(-18, 12, m), 10, 140)
    normal_l = rng.uniform(3.2, 5.0, m)
    fraction = rng.uniform(size=m) < 0.005
    pct_only = rng.uniform(size=m) < 0.01
    trials_pct = [np.round(pct + rng.normal(0, 2, m)) for _ in range(3)]
    fvc = {"subject_id": a_ids}
    for j in range(3):
        fvc[f"Subject_Liters_Trial_{j + 1}"] = _fmt(np.round(trials_pct[j] / 100 * normal_l, 2), pct_only)
        shown = np.where(fraction, trials_pct[j] / 100, trials_pct[j])
        fvc[f"pct_of_Normal_Trial_{j + 1}"] = _fmt(np.round(shown, 2))
    fvc["Forced_Vital_Capacity_Delta"] = _fmt(a["day"].to_numpy(), pct_only)
    fvc["subject_normal"] = _fmt(np.round(normal_l, 2))
    fvc["Forced_Vital_Capacity_Units"] = np.where(rng.uniform(size=m) < 0.7, "Liters", "")
    out["FVC"] = pd.DataFrame(fvc)
    # SVC at every other scheduled visit (its own subjects), also declining with the respiratory items.
    sv = visits[sched_member("in_svc") & (visits["visit"].to_numpy() % 2 == 0)]
    k = len(sv)
    liters = np.clip(4.2 * (100 - (4 - sv["i9"].to_numpy()) * 14 + rng.normal(-18, 12, k)) / 100, 0.5, 6.0)
    rounded = rng.uniform(size=k) < 0.2
    out["SVC"] = pd.DataFrame({
        "subject_id": s["subject_id"].astype(str).to_numpy()[sv["row"].to_numpy()],
        "Subject_Liters_Trial_1": _fmt(np.where(rounded, np.round(liters), np.round(liters, 2))),
        "pct_of_Normal_Trial_1": _fmt(np.round(liters / 4.2 * 100)),
        "Subject_Liters__Trial_2_": _fmt(np.round(liters * 0.98, 2)),
        "pct_of_Normal_Trial_2": _fmt(np.round(liters * 0.98 / 4.2 * 100)),
        "Subject_Liters__Trial_3_": "", "pct_of_Normal_Trial_3": "",
        "Subject_Normal": "4.2", "Slow_vital_Capacity_Delta": _fmt(sv["day"].to_numpy()),
        "Slow_Vital_Capacity_Units": "Liters",
    })
    # Labs: a few tests at about a third of the visits, test names varying in spacing and case.
    lv = alsfrs[alsfrs.index % 3 == 0].drop_duplicates(["subject_id", "ALSFRS_Delta"])  # one panel per visit
    reps = len(LAB_TESTS)
    li = np.repeat(np.arange(len(lv)), reps)
    ti = np.tile(np.arange(reps), len(lv))
    names = np.array([x[0] for x in LAB_TESTS])[ti]
    names = np.where((names == "AST(SGOT)") & (rng.uniform(size=len(ti)) < 0.4), "AST (SGOT)", names)
    means = np.array([x[2] for x in LAB_TESTS])[ti]
    sds = np.array([x[3] for x in LAB_TESTS])[ti]
    value = np.abs(rng.normal(means, sds))
    result = np.where(names == "Urine Color", rng.choice(["YELLOW", "STRAW", "AMBER"], len(ti)),
                      np.round(value, 1).astype(str))
    result = np.where(rng.uniform(size=len(ti)) < 0.01, "-", result)
    units = np.array([x[1] for x in LAB_TESTS])[ti]
    units = np.where((units == "U/L") & (rng.uniform(size=len(ti)) < 0.3), "IU/L", units)
    out["LABS"] = pd.DataFrame({"subject_id": lv["subject_id"].to_numpy()[li], "Test_Name": names,
                                "Test_Result": result, "Test_Unit": units,
                                "Laboratory_Delta": lv["ALSFRS_Delta"].to_numpy()[li]})
    vs = alsfrs[alsfrs.index % 4 == 1]
    v = len(vs)
    pounds = rng.uniform(size=v) < 0.3
    weight = rng.normal(78, 14, v)
    vit = {c: np.full(v, "", dtype=object) for c in _vital_columns()}
    vit.update({
        "subject_id": vs["subject_id"].to_numpy(), "Vital_Signs_Delta": vs["ALSFRS_Delta"].to_numpy(),
        "Blood_Pressure_Diastolic": _fmt(np.round(rng.normal(80, 9, v))), "Blood_Pressure_Diastolic_Units": "mmHg",
        "Blood_Pressure_Systolic": _fmt(np.round(rng.normal(128, 14, v))), "Blood_Pressure_Systolic_Units": "mmHg",
        "Pulse": _fmt(np.round(rng.normal(74, 10, v))), "Pulse_Units": "bpm",
        "Respiratory_Rate": _fmt(np.round(rng.normal(17, 2.5, v))), "Respiratory_Rate_Units": "breaths/min",
        "Temperature": _fmt(np.round(rng.normal(36.7, 0.3, v), 1)), "Temperature_Units": "C",
        "Weight": _fmt(np.round(np.where(pounds, weight * 2.2046, weight), 1)),
        "Weight_Units": np.where(pounds, "Pounds", "Kilograms"),
        "Height": _fmt(np.round(rng.normal(172, 9, v))), "Height_Units": "Centimeters",
    })
    out["VITALSIGNS"] = pd.DataFrame(vit)
    # Trial adverse events: a few per subject in the treatment file, coded in the trial's style.
    ae_n = rng.poisson(2.0, len(t))
    ai = np.repeat(np.arange(len(t)), ae_n)
    term = rng.integers(0, len(PROACT_AES), len(ai))
    ta = t.iloc[ai]
    sev_idx = rng.choice(3, len(ai), p=[.6, .3, .1])
    sev = np.array([SEVERITY_STYLES[st][i] for st, i in zip(ta["severity_style"], sev_idx, strict=True)], dtype=object)
    outc = np.array([OUTCOME_STYLES[st][min(i, 1)] for st, i in zip(ta["outcome_style"], sev_idx, strict=True)],
                    dtype=object)
    start = np.round(rng.uniform(0, ta["length"].to_numpy()))
    start = np.where(rng.uniform(size=len(ai)) < 0.0005, rng.uniform(1e4, 1e6, len(ai)).round(), start)
    aes = np.array(PROACT_AES, dtype=object)[term]
    out["ADVERSEEVENTS"] = pd.DataFrame({
        "subject_id": ta["subject_id"].astype(str).to_numpy(), "Lowest_Level_Term": aes[:, 0],
        "Preferred_Term": aes[:, 0], "High_Level_Term": "", "High_Level_Group_Term": "",
        "System_Organ_Class": aes[:, 1], "SOC_Abbreviation": aes[:, 2], "SOC_Code": aes[:, 3].astype(str),
        "Severity": sev, "Outcome": outc, "Start_Date_Delta": _fmt(start),
        "End_Date_Delta": _fmt(start + rng.integers(1, 60, len(ai)), rng.uniform(size=len(ai)) < 0.3),
    })
    cmi = t[t["riluzole"]]
    out["CONMEDS"] = pd.DataFrame({
        "subject_id": cmi["subject_id"].astype(str).to_numpy(),
        "Medication_Coded": rng.choice(["RILUZOLE", "RILUTEK"], len(cmi)),
        "Start_Delta": _fmt(-np.round(rng.uniform(0, 400, len(cmi)))), "Stop_Delta": "",
        "Dose": rng.choice(["50", "100", "50 mg"], len(cmi)), "Unit": "mg",
        "Frequency": rng.choice(["BID", "Twice daily", ""], len(cmi)), "Route": rng.choice(["PO", "Oral"], len(cmi)),
    })
    fh = s[s["in_familyhistory"]]
    fam = {c: np.full(len(fh), "", dtype=object) for c in _family_columns()}
    fam["subject_id"] = fh["subject_id"].astype(str).to_numpy()
    fam["Family_History_Delta"] = "0"
    fam["Neurological_Disease"] = rng.choice(["ALS", "Parkinson's disease", "Dementia"], len(fh))
    for rel in ("Mother", "Father", "Sibling", "Uncle", "Aunt"):
        fam[rel] = _flag(rng.uniform(size=len(fh)) < 0.2)
    out["FAMILYHISTORY"] = pd.DataFrame(fam)
    # Grip strength at every third scheduled visit of its own subjects.
    gi = visits[sched_member("in_handgripstrength") & (visits["visit"].to_numpy() % 3 == 0)]
    g = len(gi)
    grip = {"subject_id": s["subject_id"].astype(str).to_numpy()[gi["row"].to_numpy()], "Test_Name": "Hand grip",
            "Test_Category": "Grip", "Test_Location": "Hand", "Test_Laterality": rng.choice(["Left", "Right"], g),
            "MS_Delta": _fmt(gi["day"].to_numpy()), "Test_trial": rng.choice(["1", "2", "3"], g),
            "Test_Result": _fmt(np.round(np.abs(rng.normal(25, 10, g)), 1)),
            "Test_Unit": rng.choice(["Kilograms", "Pounds"], g), "Test_Setting": "", "DominantHand": ""}
    out["HANDGRIPSTRENGTH"] = pd.DataFrame(grip)
    ms = dict(grip)
    ms["Test_Name"], ms["Test_Category"], ms["Test_Location"] = "Elbow flexion", "Dynamometry", "Elbow"
    ms["Test_Break"] = ""
    out["MUSCLESTRENGTH"] = pd.DataFrame(ms)
    return out


def _vital_columns() -> list[str]:
    from synthetic.formats import PROACT_COLUMNS

    return PROACT_COLUMNS["VITALSIGNS"]


def _family_columns() -> list[str]:
    from synthetic.formats import PROACT_COLUMNS

    return PROACT_COLUMNS["FAMILYHISTORY"]
