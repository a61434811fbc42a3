"""Synthetic PMS (post-marketing surveillance) exports in the SDTM-like layout of pms_export.md."""

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
from synthetic.formats import QS_ITEMS

STUDY = "NR-PMS"
START, END = np.datetime64(cal.PMS_START), np.datetime64(cal.PMS_END)
LEGACY_SITE = "107"  # this site's EDC wrote dates as YYYYMMDD
COUNTRIES = ["USA", "JPN", "CHN", "SAU", "MNG", "RUS"]
ONSET_TERMS = {"LIMB": ["Right hand weakness", "Left hand weakness", "Right foot drop", "Left leg weakness",
                        "Shoulder weakness"],
               "BULBAR": ["Dysarthria", "Slurred speech", "Difficulty swallowing"]}
RILUZOLE_VERBATIM = ["Rilutek", "riluzole 50mg", "RILUZOLE", " Riluzole ", "rilutek tab"]
OTHER_MEDS = [("Baclofen", "BACLOFEN"), ("Gabapentin", "GABAPENTIN"), ("Lansoprazole", "LANSOPRAZOLE")]


def simulate_patients(rng: np.random.Generator, n: int, true_hr: float = cal.TRUE_TREATMENT_HR,
                      hidden_selection: bool = True) -> pd.DataFrame:
    """Patients with covariates, injection schedules, follow-up and death (days from the first injection).
    `death_day_untreated` is each patient's potential outcome without treatment (the same draw, the hazard without
    the treatment's HR), from which the simulation audit takes the true marginal HR among the treated.
    `hidden_selection=False` removes the selection the PS does not see (treated and booster patients slower)."""
    sites = np.array([f"{s:03d}" for s in (101, 102, 103, 104, 105, 106, 107, 108, 109, 110)])
    site = rng.choice(sites, n, p=[.2, .15, .12, .1, .1, .08, .07, .07, .06, .05])
    age = np.clip(np.round(rng.normal(54.0, 10.5, n)), 20, 85)
    male = rng.uniform(size=n) < 0.62
    bulbar = rng.uniform(size=n) < 0.20
    riluzole = rng.uniform(size=n) < 0.86
    # Symptom duration at first injection: ~75 % under two years (eligibility of the paper).
    onset_to_first = lognormal_from_median_mean(rng, 16.0, 19.3, n) * DAYS_PER_MONTH
    onset_to_dx = np.minimum(lognormal_from_median_mean(rng, 9.0, 11.2, n) * DAYS_PER_MONTH, onset_to_first - 20)
    # The injections each patient is planned to receive; boosters happen only while the patient is alive and
    # followed (`injections`), so a planned booster patient who dies or leaves first is a single-cycle patient in
    # the data - the immortal time of the paper's multiple-injection group.
    pattern = rng.choice(list(cal.PLANNED_INJECTION_PATTERN), n,
                         p=np.array(list(cal.PLANNED_INJECTION_PATTERN.values())) / sum(cal.PLANNED_INJECTION_PATTERN.values()))
    treated_factor, multiple_factor = (cal.TREATED_SLOPE_FACTOR, cal.MULTIPLE_SLOPE_FACTOR) if hidden_selection else (1, 1)
    slope = lognormal_from_median_mean(rng, cal.SLOPE_MEDIAN, cal.SLOPE_MEAN, n) * treated_factor
    # Booster patients were the better-preserved, slower ones (paper: baseline ~4 points higher, slower progression).
    slope = np.where(pattern == "multiple", slope * multiple_factor, slope)
    baseline = np.clip(48 - 0.55 * slope * onset_to_first / DAYS_PER_MONTH + rng.normal(0.5, 4.0, n), 14, 48)
    baseline = np.where(pattern == "multiple", np.minimum(baseline + 4, 48), baseline)
    first = START + rng.integers(0, int((np.datetime64("2021-09-30") - START).astype(int)), n).astype("timedelta64[D]")
    death = death_days(rng, linear_predictor(slope, age, bulbar, riluzole, 1, true_hr))
    # Weibull PH: the same uniform draw without treatment gives the death day times true_hr ** (1 / shape).
    death_untreated = death * true_hr ** (1 / cal.WEIBULL_SHAPE)
    admin_end = (END - first).astype(int) - rng.integers(0, 60, n)
    lost = rng.uniform(size=n) < 0.08
    end = np.where(lost, np.minimum(admin_end, rng.uniform(60, 1500, n)), admin_end)
    died = death <= end
    korean = rng.uniform(size=n) >= cal.NON_KOREAN_FRACTION
    # ~10 % stop ALSFRS-R assessments early (fewer than two after the first injection).
    few_assessments = rng.uniform(size=n) < 0.10
    # SUBJID: the site-local number, in order of enrolment (first injection) at the site; USUBJID adds study and site.
    local = pd.Series(first).groupby(site).rank(method="first").astype(int).to_numpy()
    return pd.DataFrame({
        "usubjid": [f"{STUDY}-{s}-{i:04d}" for s, i in zip(site, local, strict=True)], "subjid": local,
        "site": site, "age": age, "male": male, "bulbar": bulbar, "riluzole": riluzole,
        "onset_day": -np.round(onset_to_first), "diagnosis_day": -np.round(onset_to_first - onset_to_dx),
        "slope": slope, "baseline": baseline, "pattern": pattern, "first": first, "death_day": np.round(death),
        "died": died, "end_day": np.round(np.where(died, death, end)), "lost": lost, "korean": korean,
        "death_day_untreated": np.round(death_untreated),
        "few_assessments": few_assessments,
    })


def _dates(first: np.ndarray, days: np.ndarray) -> np.ndarray:
    return first + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")


def _iso(d: np.ndarray, site: np.ndarray | None = None) -> np.ndarray:
    text = np.datetime_as_string(d.astype("datetime64[D]"), unit="D").astype(object)
    if site is not None:
        legacy = site == LEGACY_SITE
        text = np.where(legacy, np.char.replace(text.astype(str), "-", ""), text).astype(object)
    return text


def injections(rng, p: pd.DataFrame) -> pd.DataFrame:
    """Cycle 1 (two injections 26-30 days apart) and, for planned booster patients, 1-8 boosters 90-200 days
    apart - each only while the patient is alive and followed (an injection is never recorded after death)."""
    rows = []
    for r in p.itertuples():  # a few hundred patients: clarity over vectorisation here
        days, cats = [0], ["CYCLE 1"]
        second = int(rng.integers(26, 31))
        if r.pattern != "single-injection" and second < r.end_day:
            days.append(second)
            cats.append("CYCLE 1")
        boosters = int(rng.integers(1, 9))
        if r.pattern == "multiple" and len(days) == 2:
            for _ in range(boosters):
                nxt = days[-1] + int(rng.integers(90, 200))
                if nxt >= r.end_day:
                    break
                days.append(nxt)
                cats.append("BOOSTER")
        rows += [(r.Index, d, c) for d, c in zip(days, cats, strict=True)]
    return pd.DataFrame(rows, columns=["patient", "day", "excat"])


def assessments(rng, p: pd.DataFrame) -> pd.DataFrame:
    """ALSFRS-R assessments: screening, monthly for a year, then quarterly, until the end of follow-up."""
    schedule = np.concatenate([[-7], np.arange(1, 13) * 30.44, np.arange(15, 90, 3) * 30.44])
    visit_names = ["SCREENING"] + [f"MONTH {k}" for k in range(1, 13)] + [f"MONTH {k}" for k in range(15, 90, 3)]
    days = np.round(schedule[None, :] + rng.integers(-5, 6, (len(p), len(schedule))))
    days[:, 0] = -rng.integers(1, 15, len(p))
    limit = np.where(p["few_assessments"], rng.choice([1, 40], len(p)), p["end_day"] - 5)
    valid = days <= np.asarray(limit)[:, None]
    valid[:, 0] = True
    missed = rng.uniform(size=valid.shape) < 0.12
    valid &= ~missed | (np.arange(len(schedule)) == 0)
    pi, vi = np.nonzero(valid)
    sub = p.iloc[pi]
    day = days[pi, vi]
    total = expected_total(sub["baseline"].to_numpy(), sub["slope"].to_numpy(), np.maximum(day, 0))
    total = total + rng.normal(0, 1.0, len(day))
    items = alsfrs_r_items(48 - total, sub["bulbar"].to_numpy(), rng)
    return pd.DataFrame({"patient": pi, "day": day, "visit": np.array(visit_names)[vi],
                         **{f"item{j + 1}": items[:, j] for j in range(12)}})


def adverse_events(rng, p: pd.DataFrame, inj: pd.DataFrame) -> pd.DataFrame:
    """AEs calibrated to the paper's first-year counts: patients and events per PT, ADR and SAE split."""
    n = len(p)
    scale = n / cal.PMS_PATIENTS
    adr_pool = rng.choice(n, max(1, round(cal.PMS_ADR_PATIENTS * scale)), replace=False)
    covered: set[int] = set()
    by_patient_inj = inj.groupby("patient")["day"].apply(np.array).to_dict()
    # Fatal events belong to the patients who die earliest; their death day is the AE onset.
    order = np.argsort(np.where(p["died"], p["death_day"], np.inf))
    fatal_queue = [i for i in order if p["died"].iloc[i]][: round(sum(cal.DEATH_TERMS.values()) * scale)]
    non_adr = np.setdiff1d(np.arange(n), adr_pool)
    n_sae = max(1, round(cal.PMS_SAE_PATIENTS * scale))
    sae_pool = list(dict.fromkeys([int(i) for i in fatal_queue] + list(rng.permutation(non_adr))))[:n_sae]
    sae_covered: set[int] = set()
    rows = []
    for pt, soc, kor, n_pat, n_ev, adr_pat, adr_ev, sae_pat, sae_ev, procedural in cal.AE_TERMS:
        k = max(1, round(n_pat * scale)) if n_pat * scale >= 0.5 else 0
        if k == 0:
            continue
        ka, kea = round(adr_pat * scale), round(adr_ev * scale)
        ks, kes = round(sae_pat * scale), round(sae_ev * scale)
        fatal = round(cal.DEATH_TERMS.get(pt, 0) * scale)
        # ADR patients: prefer pool members not yet covered, so the pool is covered exactly.
        uncovered = [i for i in adr_pool if i not in covered]
        rng.shuffle(uncovered)
        rest = [i for i in adr_pool if i in covered]
        adr_patients = (uncovered + list(rng.permutation(rest)))[:ka]
        covered.update(adr_patients)
        fatal_patients = [fatal_queue.pop(0) for _ in range(min(fatal, len(fatal_queue)))]
        # SAE patients come from their own pool (disjoint from the ADR pool: no serious ADRs), so SAEs
        # concentrate on ~69 patients as in the paper.
        candidates = [i for i in sae_pool if i not in fatal_patients]
        fresh = [i for i in candidates if i not in sae_covered]
        rng.shuffle(fresh)
        seen = [i for i in candidates if i in sae_covered]
        sae_patients = list(fatal_patients) + (fresh + list(rng.permutation(seen)))[: max(0, ks - len(fatal_patients))]
        sae_covered.update(int(i) for i in sae_patients)
        pool_rest = np.setdiff1d(np.arange(n), np.array(adr_patients + sae_patients, dtype=int))
        plain = list(rng.choice(pool_rest, max(0, k - len(adr_patients) - len(sae_patients)), replace=False))
        patients = adr_patients + sae_patients + plain
        kind = ["adr"] * len(adr_patients) + ["sae"] * len(sae_patients) + ["ae"] * len(plain)
        # Events: one per patient, extra events spread over patients of the same kind.
        extra = {"adr": max(0, kea - len(adr_patients)), "sae": max(0, kes - len(sae_patients)),
                 "ae": max(0, round(n_ev * scale) - k - max(0, kea - len(adr_patients)) - max(0, kes - len(sae_patients)))}
        events = list(zip(patients, kind, strict=True))
        for kd, m in extra.items():
            members = [pt_ for pt_, k_ in zip(patients, kind, strict=True) if k_ == kd and pt_ not in fatal_patients]
            if members and m:
                events += [(int(i), kd) for i in rng.choice(members, m)]
        for patient, kd in events:
            patient = int(patient)
            fatal_event = patient in fatal_patients and kd == "sae"
            inj_days = by_patient_inj.get(patient, np.array([0]))
            if fatal_event:
                onset = int(p["death_day"].iloc[patient])
            elif procedural:
                onset = int(rng.choice(inj_days[inj_days < 365]) + rng.integers(0, 6))
            else:
                onset = int(rng.integers(0, 365))
            rows.append((patient, pt, soc, kor, kd, fatal_event, onset))
    ae = pd.DataFrame(rows, columns=["patient", "pt", "soc", "kor", "kind", "fatal", "day"])
    # Events after the first year (outside the safety window), for patients still followed.
    later = ae.sample(frac=0.12, random_state=int(rng.integers(2**31))).copy()
    later = later[~later["fatal"]]
    later["kind"] = np.where(later["kind"] == "adr", "ae", later["kind"])
    later["day"] = 365 + rng.integers(1, 700, len(later))
    ae = pd.concat([ae, later], ignore_index=True)
    ae = ae[ae["day"] <= p["end_day"].to_numpy()[ae["patient"]]]
    sae = ae["kind"] == "sae"
    hosp = sae & ~ae["fatal"] & (ae["day"] <= 365)
    hosp_idx = ae.index[hosp]
    n_hosp = min(len(hosp_idx), round(cal.PMS_HOSPITALISATION_EVENTS * scale))
    ae["hosp"] = ae.index.isin(rng.choice(hosp_idx, n_hosp, replace=False)) if n_hosp else False
    ae["rel"] = np.where(ae["kind"] == "adr", rng.choice(["CERTAIN", "PROBABLE", "POSSIBLE"], len(ae), p=[.2, .4, .4]),
                         rng.choice(["UNLIKELY", "NOT RELATED"], len(ae), p=[.5, .5]))
    ae["sev"] = np.where(ae["fatal"], "SEVERE", np.where(sae, rng.choice(["MODERATE", "SEVERE"], len(ae)),
                                                       rng.choice(["MILD", "MODERATE"], len(ae), p=[.7, .3])))
    ae["out"] = np.where(ae["fatal"], "FATAL", rng.choice(
        ["RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED", "UNKNOWN"], len(ae),
        p=[.75, .1, .1, .05]))
    ae["duration"] = rng.integers(1, 21, len(ae))
    return ae.sort_values(["patient", "day"], kind="stable").reset_index(drop=True)


def export_tables(rng, p: pd.DataFrame, inj: pd.DataFrame, qs: pd.DataFrame, ae: pd.DataFrame,
                  cutoff: np.datetime64, corrections: bool, patients: slice = slice(None)) -> dict[str, pd.DataFrame]:
    """The export as of `cutoff` (cumulative: every record dated on or before it), for the patients in the
    `patients` slice of `p` (the generator writes large exports in patient chunks)."""
    first = p["first"].to_numpy()
    in_chunk = np.zeros(len(p), dtype=bool)
    in_chunk[patients] = True
    keep = (first <= cutoff) & in_chunk
    cut_day = (cutoff - first).astype(int)
    end_day = np.minimum(p["end_day"].to_numpy(), cut_day)
    died = p["died"].to_numpy() & (p["death_day"].to_numpy() <= cut_day)
    site = p["site"].to_numpy()
    rngc = np.random.default_rng(int(rng.integers(2**31)))

    def date(i, days):
        return _iso(_dates(first[i], days), site[i])

    idx = np.nonzero(keep)[0]
    inj_k = inj[inj["patient"].isin(idx) & (inj["day"] <= cut_day[inj["patient"]])]
    last_inj = inj_k.groupby("patient")["day"].max()
    birth = first[idx] - (p["age"].to_numpy()[idx] * 365.25 + rngc.integers(0, 365, len(idx))).astype("timedelta64[D]")
    age = p["age"].to_numpy()[idx].astype(int)
    if corrections:  # the earlier export had a few ages the later one corrects
        age = np.where(rngc.uniform(size=len(idx)) < 0.03, age + 1, age)
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUWY"))
    dm = pd.DataFrame({
        "STUDYID": STUDY, "USUBJID": p["usubjid"].to_numpy()[idx], "SUBJID": [f"{s:04d}" for s in p["subjid"].to_numpy()[idx]],
        "SITEID": site[idx],
        "PATINIT": ["".join(rngc.choice(letters, int(rngc.integers(2, 4)))) for _ in idx],
        "MRN": [f"{int(x):08d}" for x in rngc.integers(10**7, 10**8, len(idx))],
        "BRTHDTC": _iso(birth), "AGE": age, "SEX": np.where(p["male"].to_numpy()[idx], "M", "F"),
        "RACE": np.where(p["korean"].to_numpy()[idx], "ASIAN",
                         rngc.choice(["ASIAN", "WHITE", "BLACK OR AFRICAN AMERICAN", "OTHER"], len(idx), p=[.6, .3, .05, .05])),
        "COUNTRY": np.where(p["korean"].to_numpy()[idx], "KOR", rngc.choice(COUNTRIES, len(idx))),
        "RFSTDTC": date(idx, np.zeros(len(idx))), "RFENDTC": date(idx, last_inj.reindex(idx).fillna(0).to_numpy()),
        "DTHDTC": np.where(died[idx], date(idx, p["death_day"].to_numpy()[idx]), ""),
        "DTHFL": np.where(died[idx], "Y", ""),
    })
    mh_rows = []
    for i in idx:
        loc = "BULBAR" if p["bulbar"].iloc[i] else "LIMB"
        onset = _iso(_dates(first[i], [p["onset_day"].iloc[i]]))[0]
        u = rngc.uniform()
        onset = onset[:7] if u < 0.3 else onset[:4] if u < 0.35 else onset
        if site[i] == LEGACY_SITE and len(onset) == 10:
            onset = onset.replace("-", "")
        dx = date(np.array([i]), [p["diagnosis_day"].iloc[i]])[0]
        ee = rngc.choice(["CLINICALLY DEFINITE", "CLINICALLY PROBABLE", "CLINICALLY PROBABLE - LABORATORY SUPPORTED"],
                         p=[.45, .4, .15])
        mh_rows += [(p["usubjid"].iloc[i], 1, "ALS SYMPTOM ONSET", " " + rngc.choice(ONSET_TERMS[loc]), loc, "", onset),
                    (p["usubjid"].iloc[i], 2, "ALS DIAGNOSIS", "Amyotrophic lateral sclerosis", "", "", dx),
                    (p["usubjid"].iloc[i], 3, "EL ESCORIAL", ee.title(), "", ee, dx)]
    mh = pd.DataFrame(mh_rows, columns=["USUBJID", "MHSEQ", "MHCAT", "MHTERM", "MHLOC", "MHEVAL", "MHSTDTC"])
    mh.insert(0, "STUDYID", STUDY)
    ii = inj_k["patient"].to_numpy()
    ex = pd.DataFrame({"STUDYID": STUDY, "USUBJID": p["usubjid"].to_numpy()[ii],
                       "EXSEQ": inj_k.groupby("patient").cumcount().to_numpy() + 1, "EXTRT": "LENZUMESTROCEL",
                       "EXDOSE": 1, "EXDOSU": "10^6 cells/kg", "EXROUTE": "INTRATHECAL",
                       "EXCAT": inj_k["excat"].to_numpy(), "EXSTDTC": date(ii, inj_k["day"].to_numpy())})
    qk = qs[qs["patient"].isin(idx) & (qs["day"] <= cut_day[qs["patient"]])].reset_index(drop=True)
    qs_long = _qs_long(rngc, p, qk, date)
    aek = ae[ae["patient"].isin(idx) & (ae["day"] <= cut_day[ae["patient"]])]
    ai = aek["patient"].to_numpy()
    english = rngc.uniform(size=len(aek)) < 0.4
    aedf = pd.DataFrame({
        "STUDYID": STUDY, "USUBJID": p["usubjid"].to_numpy()[ai], "AESEQ": aek.groupby("patient").cumcount().to_numpy() + 1,
        "AETERM": np.where(english, aek["pt"].str.lower().to_numpy(), aek["kor"].to_numpy()),
        "AEDECOD": aek["pt"].to_numpy(), "AEBODSYS": aek["soc"].to_numpy(), "AESEV": aek["sev"].to_numpy(),
        "AESER": np.where(aek["kind"] == "sae", "Y", "N"), "AESHOSP": np.where(aek["hosp"], "Y", "N"),
        "AESDTH": np.where(aek["fatal"], "Y", "N"), "AEREL": aek["rel"].to_numpy(), "AEOUT": aek["out"].to_numpy(),
        "AESTDTC": date(ai, aek["day"].to_numpy()),
        "AEENDTC": np.where(aek["fatal"], "", date(ai, aek["day"].to_numpy() + aek["duration"].to_numpy())),
    })
    cm_rows = []
    for i in idx:
        if p["riluzole"].iloc[i]:
            start = _iso(_dates(first[i], [-int(rngc.integers(30, 500))]))[0]
            cm_rows.append((p["usubjid"].iloc[i], rngc.choice(RILUZOLE_VERBATIM), "RILUZOLE",
                            start[:7] if rngc.uniform() < 0.2 else start, ""))
        if rngc.uniform() < 0.4:
            trt, dec = OTHER_MEDS[int(rngc.integers(len(OTHER_MEDS)))]
            cm_rows.append((p["usubjid"].iloc[i], trt, dec, _iso(_dates(first[i], [int(rngc.integers(-200, 200))]))[0], ""))
    cm = pd.DataFrame(cm_rows, columns=["USUBJID", "CMTRT", "CMDECOD", "CMSTDTC", "CMENDTC"])
    cm.insert(0, "STUDYID", STUDY)
    cm.insert(2, "CMSEQ", cm.groupby("USUBJID").cumcount() + 1)
    pr_rows, ds_rows = [], []
    for i in idx:
        u = p["usubjid"].iloc[i]
        if died[i] and rngc.uniform() < 0.35:
            pr_rows.append((u, rngc.choice(["TRACHEOSTOMY", "PERMANENT ASSISTED VENTILATION"]),
                            date(np.array([i]), [max(1, p["death_day"].iloc[i] - int(rngc.integers(10, 200)))])[0]))
        if rngc.uniform() < 0.25 and end_day[i] > 200:
            pr_rows.append((u, rngc.choice(["GASTROSTOMY", "NON-INVASIVE VENTILATION"]),
                            date(np.array([i]), [int(rngc.integers(30, end_day[i]))])[0]))
        if died[i]:
            ds_rows.append((u, "DEATH", date(np.array([i]), [p["death_day"].iloc[i]])[0]))
        else:
            status = "LOST TO FOLLOW-UP" if p["lost"].iloc[i] and p["end_day"].iloc[i] <= cut_day[i] else "ONGOING"
            ds_rows.append((u, status, date(np.array([i]), [end_day[i]])[0]))
    pr = pd.DataFrame(pr_rows, columns=["USUBJID", "PRTRT", "PRSTDTC"])
    pr.insert(0, "STUDYID", STUDY)
    pr.insert(2, "PRSEQ", pr.groupby("USUBJID").cumcount() + 1)
    ds = pd.DataFrame(ds_rows, columns=["USUBJID", "DSDECOD", "DSSTDTC"])
    ds.insert(0, "STUDYID", STUDY)
    ds.insert(2, "DSSEQ", 1)
    return {"dm": dm, "mh": mh, "ex": ex, "qs": qs_long, "cm": cm, "ae": aedf, "pr": pr, "ds": ds}


def _qs_long(rng, p: pd.DataFrame, q: pd.DataFrame, date) -> pd.DataFrame:
    """ALSFRS-R assessments in SDTM long form: 12 item rows + a total row per assessment."""
    items = q[[f"item{j + 1}" for j in range(12)]].to_numpy()
    total = items.sum(axis=1)
    off = rng.uniform(size=len(q)) < 0.01  # the recorded total disagrees with the item sum now and then
    total = np.where(off, np.clip(total + rng.choice([-2, -1, 1, 2], len(q)), 0, 48), total)
    gastro = items[:, 2] <= 1
    values = np.column_stack([items, total])  # (n, 13)
    n = len(q)
    codes = [c for c, _ in QS_ITEMS] + ["ALSFRSTO"]
    names = [t for _, t in QS_ITEMS] + ["Total score"]
    pi = np.repeat(q["patient"].to_numpy(), 13)
    col = np.tile(np.arange(13), n)
    flat = values.reshape(-1)
    scat = np.where(col == 4, np.where(np.repeat(gastro, 13), "WITH GASTROSTOMY", "WITHOUT GASTROSTOMY"), "")
    out = pd.DataFrame({
        "STUDYID": STUDY, "USUBJID": p["usubjid"].to_numpy()[pi], "QSCAT": "ALSFRS-R",
        "QSTESTCD": np.array(codes)[col], "QSTEST": np.array(names)[col], "QSSCAT": scat,
        "QSORRES": flat.astype(str), "QSSTRESN": flat, "VISIT": np.repeat(q["visit"].to_numpy(), 13),
        "QSDTC": date(pi, np.repeat(q["day"].to_numpy(), 13)),
    })
    out.insert(2, "QSSEQ", out.groupby("USUBJID").cumcount() + 1)
    return out
