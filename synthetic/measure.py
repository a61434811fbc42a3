"""Measure generated files against the paper's figures and the real PRO-ACT download's measured structure (what
the calibration test and `als-eca calibration` show).

Reads the files as a user would (CSV, by column name), applying the paper's eligibility rules. `measure` gives the
calibration figures; `subjects_across_files` and `cross_file_figures` how subjects spread over the PRO-ACT files;
`analysis_cohort` the eligible patients of both sources (the pipeline's cohort, read independently of the
warehouse) and `matched_outcome` the matched analysis on them beside the paper's Results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthetic import calibration as cal


@dataclass
class Figure:
    name: str
    paper: float
    generated: float
    rel_tol: float = 0.10
    abs_tol: float = 0.0

    @property
    def ok(self) -> bool:
        return abs(self.generated - self.paper) <= max(self.rel_tol * abs(self.paper), self.abs_tol)


def _partial_date(text: pd.Series, mid_period: bool = False) -> pd.Series:
    """ISO, legacy YYYYMMDD and partial dates. Partial dates become the first day of the period, or with
    `mid_period` the 15th / 1 July (the warehouse's imputation of onset dates)."""
    t = text.fillna("").str.strip()
    t = t.where(~t.str.fullmatch(r"\d{8}"), t.str[:4] + "-" + t.str[4:6] + "-" + t.str[6:])
    month, year = ("-15", "-07-01") if mid_period else ("-01", "-01-01")
    t = t.where(t.str.len() != 7, t + month).where(t.str.len() != 4, t + year)
    return pd.to_datetime(t, errors="coerce", format="%Y-%m-%d")


def measure(out_dir: Path, scale: float = 1.0) -> list[Figure]:
    """The calibration figures. "PRO-ACT eligible controls" applies the paper's criteria but data completeness
    (placebo, onset within 24 months of day 0, first assessment with an ALSFRS-R total); PRO-ACT counts are
    those of the ~2023 download (the paper's release: 9,640 TREATMENT subjects, 2,912 placebo, 1,224 controls)."""
    pa = Path(out_dir) / "proact"
    read = lambda name, **kw: pd.read_csv(pa / f"PROACT_{name}.csv", low_memory=False, **kw)  # noqa: E731
    demo, treat, alsfrs, hist = read("DEMOGRAPHICS"), read("TREATMENT"), read("ALSFRS"), read("ALSHISTORY")
    death, ril = read("DEATHDATA"), read("RILUZOLE")
    placebo = treat.loc[treat["Study_Arm"] == "Placebo", "subject_id"]
    onset = hist.groupby("subject_id")["Onset_Delta"].min()
    a = alsfrs.dropna(subset=["ALSFRS_Delta"])
    first_visit = a.loc[a.groupby("subject_id")["ALSFRS_Delta"].idxmin()].set_index("subject_id")
    baseline_r = first_visit["ALSFRS_R_Total"]
    eligible = [s for s in placebo if onset.get(s, -1e9) >= -730 and pd.notna(baseline_r.get(s, np.nan))]
    r = a.dropna(subset=["ALSFRS_R_Total"])
    slopes = r.groupby("subject_id").apply(
        lambda g: np.polyfit(g["ALSFRS_Delta"] / 30.4375, g["ALSFRS_R_Total"], 1)[0] if g["ALSFRS_Delta"].nunique() > 2
        else np.nan, include_groups=False).dropna()
    site = hist["Site_of_Onset"].dropna()
    bulbar_text = site.eq("Onset: Bulbar").sum()
    flags = hist[hist["Site_of_Onset"].isna() & (hist["Site_of_Onset___Bulbar"].notna() | hist["Site_of_Onset___Limb"].notna())]
    bulbar = (bulbar_text + (flags["Site_of_Onset___Bulbar"] == 1).sum()) / (len(site) + len(flags))
    s = scale
    figs = [
        Figure("PRO-ACT subjects in treatment file", cal.PROACT_TREATMENT_SUBJECTS * s, treat["subject_id"].nunique()),
        Figure("PRO-ACT placebo subjects", cal.PROACT_PLACEBO_SUBJECTS * s, len(placebo)),
        Figure("PRO-ACT eligible controls", cal.PROACT_ELIGIBLE_CONTROLS * s, len(eligible)),
        Figure("PRO-ACT demographics subjects", cal.PROACT_DEMOGRAPHICS_SUBJECTS * s, demo["subject_id"].nunique()),
        Figure("ALSFRS rows", 67_612 * s, len(alsfrs), rel_tol=0.15),
        Figure("ALSFRS subjects", 7_712 * s, alsfrs["subject_id"].nunique(), rel_tol=0.15),
        Figure("male %", 60.8, 100 * (demo["Sex"] == "Male").mean()),
        Figure("age mean", cal.AGE_MEAN, demo["Age"].mean()),
        Figure("bulbar onset %", 22.5, 100 * bulbar),
        Figure("riluzole %", 80.3, 100 * (ril["Subject_used_Riluzole"] == "Yes").mean()),
        Figure("baseline ALSFRS-R mean", cal.BASELINE_ALSFRS_R_MEAN, baseline_r.mean()),
        Figure("ALSFRS-R slope median (points/month)", -cal.SLOPE_MEDIAN, slopes.median(), rel_tol=0.2),
        Figure("Death_Days median", cal.DEATH_DAYS_MEDIAN, death["Death_Days"].median(), rel_tol=0.2),
        Figure("last ALSFRS visit day median", cal.LAST_VISIT_MEDIAN_DAY, a.groupby("subject_id")["ALSFRS_Delta"].max().median(), rel_tol=0.2),
    ]
    return figs + _measure_pms(Path(out_dir) / "pms" / f"pms_export_{cal.PMS_END}", scale)


def _measure_pms(folder: Path, s: float) -> list[Figure]:
    dm = pd.read_csv(folder / "dm.csv", dtype=str)
    mh = pd.read_csv(folder / "mh.csv", dtype=str)
    ex = pd.read_csv(folder / "ex.csv", dtype=str)
    qs = pd.read_csv(folder / "qs.csv", dtype=str)
    ae = pd.read_csv(folder / "ae.csv", dtype=str)
    first = pd.to_datetime(dm.set_index("USUBJID")["RFSTDTC"].str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True))
    onset = mh[mh["MHCAT"] == "ALS SYMPTOM ONSET"].set_index("USUBJID")["MHSTDTC"]
    onset_date = _partial_date(onset, mid_period=True).reindex(first.index).set_axis(first.index)
    duration = (first - onset_date.where(onset_date < first, first)).dt.days  # imputed onset never after index
    tot = qs[qs["QSTESTCD"] == "ALSFRSTO"].copy()
    tot["date"] = _partial_date(tot["QSDTC"])
    tot["after"] = tot["date"] > tot["USUBJID"].map(first)
    n_after = tot[tot["after"]].groupby("USUBJID")["date"].nunique().reindex(first.index, fill_value=0)
    n_inj = ex.groupby("USUBJID").size().reindex(first.index, fill_value=0)
    boosters = ex[ex["EXCAT"] == "BOOSTER"].groupby("USUBJID").size().reindex(first.index, fill_value=0)
    elig = (duration < 730.5) & (n_after >= 2) & (n_inj >= 2)  # symptom duration < 2 years
    pattern_pre = np.where(n_inj == 1, "single-injection", np.where(boosters > 0, "multiple", "single-cycle"))
    pattern = pd.Series(pattern_pre, index=first.index)
    ae["day"] = (_partial_date(ae["AESTDTC"]) - ae["USUBJID"].map(first)).dt.days
    y1 = ae[(ae["day"] >= 0) & (ae["day"] <= 365)]
    adr = y1[~y1["AEREL"].isin(["UNLIKELY", "NOT RELATED"])]
    sae = y1[y1["AESER"] == "Y"]
    top = y1.groupby("AEDECOD").agg(patients=("USUBJID", "nunique"), events=("USUBJID", "size"))
    n_pat = len(dm)
    figs = [
        Figure("PMS patients", cal.PMS_PATIENTS * s, n_pat),
        Figure("PMS eligible", cal.PMS_ELIGIBLE * s, elig.sum()),
        Figure("PMS single-cycle share of 2+ injections (%)", 100 * 134 / 155,
               100 * (pattern == "single-cycle").sum() / max(1, (pattern != "single-injection").sum()), rel_tol=0.05),
        Figure("PMS non-Korean %", 16.0, 100 * (dm["COUNTRY"] != "KOR").mean(), rel_tol=0.35),
        Figure("AEs in first year", cal.PMS_AE_TOTAL_FIRST_YEAR * s, len(y1)),
        Figure("ADR patients", cal.PMS_ADR_PATIENTS * s, adr["USUBJID"].nunique()),
        Figure("ADR events", cal.PMS_ADR_EVENTS * s, len(adr)),
        Figure("SAE patients", cal.PMS_SAE_PATIENTS * s, sae["USUBJID"].nunique()),
        Figure("SAE events", cal.PMS_SAE_EVENTS * s, len(sae)),
        Figure("SAE and ADR events", 0, len(adr[adr["AESER"] == "Y"]), abs_tol=0),
        Figure("deaths (AESDTH)", cal.PMS_DEATHS * s, (y1["AESDTH"] == "Y").sum(), abs_tol=3),
        Figure("hospitalisation events", cal.PMS_HOSPITALISATION_EVENTS * s, (y1["AESHOSP"] == "Y").sum()),
    ]
    for pt, _soc, _kor, n_p, n_e, *_ in cal.AE_TERMS[:5]:
        row = top.loc[pt] if pt in top.index else pd.Series({"patients": 0, "events": 0})
        figs += [Figure(f"{pt}: patients", n_p * s, row["patients"]), Figure(f"{pt}: events", n_e * s, row["events"])]
    return figs


# --- PRO-ACT across files (proact.md "Subjects across files"; real values measured on the ~2023 download) -----

def _count(name: str, real: float, generated: float) -> Figure:
    """A subject count: within 10 %, or two binomial standard deviations where the count is small."""
    return Figure(name, real, generated, rel_tol=0.10, abs_tol=2 * np.sqrt(max(real, 1.0)))


def subjects_across_files(out_dir: Path, scale: float = 1.0) -> list[Figure]:
    """Per file: its subjects (`<FILE> subjects`) and of them those without a TREATMENT row (`<FILE> subjects not
    in TREATMENT`), beside the real download's counts."""
    pa = Path(out_dir) / "proact"
    ids = {form: pd.read_csv(pa / f"PROACT_{form}.csv", usecols=["subject_id"])["subject_id"].drop_duplicates()
           for form in cal.PROACT_FILE_SUBJECTS}
    figs = []
    for form, (n, n_out) in cal.PROACT_FILE_SUBJECTS.items():
        figs.append(_count(f"{form} subjects", n * scale, len(ids[form])))
        if form != "TREATMENT":
            outside = (~ids[form].isin(ids["TREATMENT"])).sum()
            figs.append(_count(f"{form} subjects not in TREATMENT", n_out * scale, outside))
    return figs


def files_table(figs: list[Figure]) -> str:
    """`subjects_across_files` as one row per file."""
    by_name = {f.name: f for f in figs}
    lines = ["| file | subjects (real) | subjects (generated) | not in TREATMENT (real) | not in TREATMENT (generated) "
             "| ok |", "|---|---|---|---|---|---|"]
    for form in cal.PROACT_FILE_SUBJECTS:
        a, b = by_name[f"{form} subjects"], by_name.get(f"{form} subjects not in TREATMENT")
        outside = f"{b.paper:,.0f} | {b.generated:,.0f}" if b else "- | -"
        ok = a.ok and (b is None or b.ok)
        lines.append(f"| {form} | {a.paper:,.0f} | {a.generated:,.0f} | {outside} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines)


def proact_subjects(out_dir: Path) -> pd.DataFrame:
    """Every PRO-ACT subject (index `subject_id`, from DEMOGRAPHICS) with the paper's placebo-control criteria,
    read from the files as a user would: `arm` (NaN: no TREATMENT row), `in_alsfrs`, `in_history`, `onset_ok`
    (onset within 24 months of day 0), `first_r` (first assessment carries an ALSFRS-R total), `covariates` (age,
    sex, onset site, riluzole, follow-up >= 0), `death_day` (a `Yes` with a day; the earliest of two),
    `last_visit`, `followup` (the paper's rule: death day, else last ALSFRS visit), `criteria_but_arm` and
    `control` (those criteria and the placebo arm)."""
    pa = Path(out_dir) / "proact"
    read = lambda name: pd.read_csv(pa / f"PROACT_{name}.csv", low_memory=False)  # noqa: E731
    demo, treat, alsfrs, hist = read("DEMOGRAPHICS"), read("TREATMENT"), read("ALSFRS"), read("ALSHISTORY")
    death, ril = read("DEATHDATA"), read("RILUZOLE")
    s = pd.DataFrame(index=pd.Index(demo["subject_id"].unique(), name="subject_id"))
    s["arm"] = treat.groupby("subject_id")["Study_Arm"].first()
    s["in_alsfrs"] = s.index.isin(alsfrs["subject_id"])
    s["in_history"] = s.index.isin(hist["subject_id"])
    onset = hist.groupby("subject_id")["Onset_Delta"].min().reindex(s.index)
    s["onset_ok"] = onset.ge(-730).to_numpy()
    a = alsfrs.dropna(subset=["ALSFRS_Delta"])
    first = a.loc[a.groupby("subject_id")["ALSFRS_Delta"].idxmin()].set_index("subject_id")
    s["first_r"] = first["ALSFRS_R_Total"].notna().reindex(s.index, fill_value=False)
    s["last_visit"] = a.groupby("subject_id")["ALSFRS_Delta"].max()
    dead = death[death["Subject_Died"] == "Yes"].dropna(subset=["Death_Days"])
    s["death_day"] = dead.groupby("subject_id")["Death_Days"].min()
    s["followup"] = s["death_day"].fillna(s["last_visit"])
    age = demo["Age"].fillna(-demo["Date_of_Birth"] / 365.25).groupby(demo["subject_id"]).first()
    sex = demo.groupby("subject_id")["Sex"].first()
    site = hist.loc[hist["Site_of_Onset"].notna() | hist["Site_of_Onset___Bulbar"].notna()
                    | hist["Site_of_Onset___Limb"].notna(), "subject_id"]
    s["covariates"] = (age.reindex(s.index).notna().to_numpy() & sex.reindex(s.index).notna().to_numpy()
                       & s.index.isin(site) & s.index.isin(ril["subject_id"]) & s["followup"].ge(0).to_numpy())
    s["criteria_but_arm"] = s["onset_ok"] & s["first_r"] & s["covariates"]
    s["control"] = s["arm"].eq("Placebo").to_numpy() & s["criteria_but_arm"]
    return s


def cross_file_figures(out_dir: Path, scale: float = 1.0) -> list[Figure]:
    """proact.md's other cross-file figures: subjects with clinical data but no trial arm, TREATMENT subjects
    without assessments, and the placebo controls' deaths and follow-up."""
    s = proact_subjects(out_dir)
    no_arm = s["arm"].isna() & s["in_alsfrs"] & s["in_history"]
    no_alsfrs = s["arm"].notna() & ~s["in_alsfrs"]
    c = s[s["control"]]
    died = c["death_day"].notna()
    later = died & (c["death_day"] > c["last_visit"] + 30)
    return [
        _count("no TREATMENT row, but ALSFRS, ALSHISTORY and DEMOGRAPHICS rows",
               cal.PROACT_NO_ARM_WITH_ALSFRS_AND_HISTORY * scale, no_arm.sum()),
        _count("  of them meeting every placebo-control criterion but the arm",
               cal.PROACT_NO_ARM_MEETING_CRITERIA * scale, (no_arm & s["criteria_but_arm"]).sum()),
        _count("TREATMENT subjects without an ALSFRS row", (cal.PROACT_FILE_SUBJECTS["TREATMENT"][0]
               - cal.PROACT_FILE_SUBJECTS["ALSFRS"][0] + cal.PROACT_FILE_SUBJECTS["ALSFRS"][1]) * scale,
               no_alsfrs.sum()),
        _count("  of them placebo", cal.PROACT_PLACEBO_WITHOUT_ALSFRS * scale,
               (no_alsfrs & s["arm"].eq("Placebo")).sum()),
        _count("placebo controls by the paper's rules (covariates present)", cal.PROACT_ELIGIBLE_CONTROLS * scale,
               len(c)),
        _count("  their deaths in DEATHDATA", (cal.PROACT_CONTROL_DEATHS_WITHIN + cal.PROACT_CONTROL_DEATHS_LATER)
               * scale, died.sum()),
        Figure("  their deaths, % of them", 100 * (cal.PROACT_CONTROL_DEATHS_WITHIN + cal.PROACT_CONTROL_DEATHS_LATER)
               / cal.PROACT_ELIGIBLE_CONTROLS, 100 * died.mean()),
        _count("  deaths on/before the last ALSFRS visit + 30 days", cal.PROACT_CONTROL_DEATHS_WITHIN * scale,
               (died & ~later).sum()),
        _count("  deaths later", cal.PROACT_CONTROL_DEATHS_LATER * scale, later.sum()),
        Figure("  follow-up by the paper's rule, median (days)", cal.PROACT_CONTROL_FOLLOWUP_MEDIAN,
               c["followup"].median()),
        Figure("  follow-up by the paper's rule, 90th percentile (days)", cal.PROACT_CONTROL_FOLLOWUP_P90,
               c["followup"].quantile(0.9)),
    ]


def table(figs: list[Figure], reference: str = "paper") -> str:
    lines = [f"| figure | {reference} | generated | ok |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.paper:.2f} | {f.generated:.2f} | {'yes' if f.ok else 'NO'} |" for f in figs]
    return "\n".join(lines)


# --- the analysis cohort and the matched outcome (the paper's Results; read independently of the warehouse) ----

DAYS_PER_MONTH = 30.44  # the warehouse's month (dbt var days_per_month)


def _pms_day(text: pd.Series, first: pd.Series) -> pd.Series:
    """Whole days from each patient's first injection to an ISO or legacy YYYYMMDD date (partial: NaN)."""
    return (_partial_date(text.where(text.fillna("").str.strip().str.fullmatch(r"\d{8}|\d{4}-\d{2}-\d{2}")))
            - first).dt.days


def pms_patients(out_dir: Path) -> pd.DataFrame:
    """Every patient of the latest PMS export with the paper's treated-arm criteria and outcome, read from the files
    as a user would (the warehouse's rules: index = first injection; onset partial dates at mid-period, never after
    the index; baseline = the last ALSFRS-R total on or before the index, else the first within 14 days after;
    follow-up to death, else the latest of last contact, last ALSFRS-R, last AE onset and last injection)."""
    folder = Path(out_dir) / "pms" / f"pms_export_{cal.PMS_END}"
    read = lambda name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)  # noqa: E731
    dm, mh, ex, qs, cm, ae, ds = (read(d) for d in ("dm", "mh", "ex", "qs", "cm", "ae", "ds"))
    p = pd.DataFrame(index=pd.Index(dm["USUBJID"], name="subject_id"))
    ex_first = _partial_date(ex["EXSTDTC"]).groupby(ex["USUBJID"]).min()
    first = ex_first.reindex(p.index).fillna(_partial_date(dm["RFSTDTC"]).set_axis(p.index))
    day = lambda frame, col: _pms_day(frame[col], frame["USUBJID"].map(first))  # noqa: E731
    p["age"] = pd.to_numeric(dm["AGE"], errors="coerce").to_numpy()
    p["sex"] = dm["SEX"].to_numpy()
    p["korean"] = (dm["COUNTRY"] == "KOR").astype(int).to_numpy()
    onset = mh[mh["MHCAT"] == "ALS SYMPTOM ONSET"].drop_duplicates("USUBJID").set_index("USUBJID")
    p["onset_site"] = onset["MHLOC"].str.strip().str.lower().reindex(p.index)
    onset_day = (_partial_date(onset["MHSTDTC"], mid_period=True).reindex(p.index) - first).dt.days
    dx = mh[mh["MHCAT"] == "ALS DIAGNOSIS"].drop_duplicates("USUBJID").set_index("USUBJID")
    dx_day = (_partial_date(dx["MHSTDTC"], mid_period=True).reindex(p.index) - first).dt.days.clip(upper=0)
    onset_day = onset_day.fillna(dx_day - 365).clip(upper=0)
    p["disease_duration_months"] = -onset_day / DAYS_PER_MONTH
    p["riluzole"] = p.index.isin(cm.loc[cm["CMDECOD"].str.strip().str.upper() == "RILUZOLE", "USUBJID"]).astype(int)
    tot = qs[qs["QSTESTCD"] == "ALSFRSTO"].assign(day=lambda q: day(q, "QSDTC"),
                                                   score=lambda q: pd.to_numeric(q["QSSTRESN"], errors="coerce"))
    tot = tot.dropna(subset=["day", "score"]).sort_values(["USUBJID", "day"], kind="stable")
    pre = tot[tot["day"] <= 0].groupby("USUBJID")["score"].last()
    early = tot[tot["day"].between(1, 14)].groupby("USUBJID")["score"].first()
    p["alsfrs_r_baseline"] = pre.reindex(p.index).fillna(early.reindex(p.index))
    dx_or_onset = (dx_day - 365).fillna(onset_day)
    p["progression_speed"] = ((48 - p["alsfrs_r_baseline"]) / (-dx_or_onset / DAYS_PER_MONTH)).where(dx_or_onset < 0)
    n_after = tot[tot["day"] > 0].groupby("USUBJID")["day"].nunique()
    ex_day = day(ex, "EXSTDTC")
    n_inj = ex.groupby("USUBJID").size().reindex(p.index, fill_value=0)
    boosters = (ex["EXCAT"] == "BOOSTER").groupby(ex["USUBJID"]).sum().reindex(p.index, fill_value=0)
    p["group"] = np.where(n_inj == 1, "single-injection", np.where(boosters > 0, "multiple", "single"))
    death = pd.concat([day(dm, "DTHDTC").set_axis(dm["USUBJID"]),
                       day(ds[ds["DSDECOD"] == "DEATH"], "DSSTDTC").set_axis(ds.loc[ds["DSDECOD"] == "DEATH", "USUBJID"])])
    death = death.dropna().groupby(level=0).min().reindex(p.index)
    last = pd.concat([day(ds, "DSSTDTC").groupby(ds["USUBJID"]).max(), tot.groupby("USUBJID")["day"].max(),
                      day(ae, "AESTDTC").groupby(ae["USUBJID"]).max(), ex_day.groupby(ex["USUBJID"]).max()], axis=1)
    p["event"] = death.notna().astype(int)
    p["time_days"] = death.fillna(last.reindex(p.index).max(axis=1))
    p["eligible"] = ((p["disease_duration_months"] < 24) & (n_after.reindex(p.index, fill_value=0) >= 2)
                     & (n_inj >= 2) & p["alsfrs_r_baseline"].notna() & (p["time_days"] >= 0)
                     & p[["age", "sex", "onset_site"]].notna().all(axis=1))
    return p


def analysis_cohort(out_dir: Path) -> pd.DataFrame:
    """The eligible patients of both sources in the columns `analytics.study` reads (time_days, event by the
    paper's rule: PRO-ACT deaths from DEATHDATA, survivors censored at their last ALSFRS visit)."""
    s = proact_subjects(out_dir)
    pa = Path(out_dir) / "proact"
    read = lambda name: pd.read_csv(pa / f"PROACT_{name}.csv", low_memory=False)  # noqa: E731
    demo, hist, ril, alsfrs = read("DEMOGRAPHICS"), read("ALSHISTORY"), read("RILUZOLE"), read("ALSFRS")
    c = s[s["control"]].copy()
    c["age"] = demo["Age"].fillna(-demo["Date_of_Birth"] / 365.25).groupby(demo["subject_id"]).first()
    c["sex"] = demo.groupby("subject_id")["Sex"].first().map({"Male": "M", "Female": "F"})
    text = hist["Site_of_Onset"].str.replace(r"^\s*Onset:\s*", "", regex=True).str.strip().str.lower()
    flags = np.where(hist["Site_of_Onset___Bulbar"].eq(1) & hist["Site_of_Onset___Limb"].eq(1), "limb and bulbar",
                     np.where(hist["Site_of_Onset___Bulbar"].eq(1), "bulbar",
                              np.where(hist["Site_of_Onset___Limb"].eq(1), "limb", None)))
    site = text.where(text.notna(), pd.Series(flags, index=hist.index)).dropna()
    c["onset_site"] = np.where(site.groupby(hist["subject_id"]).first().reindex(c.index) == "bulbar", "bulbar", "limb")
    c["riluzole"] = (ril["Subject_used_Riluzole"] == "Yes").groupby(ril["subject_id"]).any().reindex(c.index).astype(int)
    onset = hist.groupby("subject_id")["Onset_Delta"].min().reindex(c.index)
    dx = hist.groupby("subject_id")["Diagnosis_Delta"].min().reindex(c.index)
    onset = onset.fillna(dx - 365)
    c["disease_duration_months"] = -onset / DAYS_PER_MONTH
    a = alsfrs.dropna(subset=["ALSFRS_Delta"])
    c["alsfrs_r_baseline"] = a.loc[a.groupby("subject_id")["ALSFRS_Delta"].idxmin()].set_index("subject_id")[
        "ALSFRS_R_Total"].reindex(c.index)
    dx_or_onset = (dx - 365).fillna(onset)
    c["progression_speed"] = ((48 - c["alsfrs_r_baseline"]) / (-dx_or_onset / DAYS_PER_MONTH)).where(dx_or_onset < 0)
    c["event"] = c["death_day"].notna().astype(int)
    c["time_days"] = c["followup"]
    c["group"], c["treated"], c["source"] = "control", 0, "PRO-ACT"
    t = pms_patients(out_dir)
    t = t[t["eligible"] & t["group"].isin(["single", "multiple"])].assign(treated=1, source="PMS")
    columns = ["source", "treated", "group", "time_days", "event", "age", "sex", "onset_site", "alsfrs_r_baseline",
               "riluzole", "disease_duration_months", "progression_speed"]
    cohort = pd.concat([c[columns], t[columns]])
    return cohort.rename_axis("subject_id").reset_index().assign(subject_id=lambda d: d["subject_id"].astype(str))


@dataclass
class OutcomeFigure:
    """A figure of the matched analysis beside the paper's. It is judged within `low`-`high`: the paper's 95 % CI
    or a stated tolerance around `target`, the value that wins - the paper's, or where the real download's figures
    and the paper's cannot both hold, the one `wins` names (`note` says by how much they differ)."""

    name: str
    paper: float
    generated: float | None
    target: float
    low: float
    high: float
    wins: str = "paper"
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.generated is not None and np.isfinite(self.generated) and self.low <= self.generated <= self.high


def matched_outcome(out_dir: Path | None = None, results: Path | None = None, scale: float = 1.0) -> list[OutcomeFigure]:
    """The matched analysis's figures beside the paper's Results: from a `results.json` the pipeline wrote
    (`results`), or computed here from the generated files (`analysis_cohort`, then the study's own
    `run_matched_analysis`, as the pipeline runs it; the RMST at survRM2's default tau, as the paper's). A model
    that cannot be estimated gives no figure (not ok). A pipeline's `results.json` holds the RMST at the pipeline's
    own horizon rule, which is shorter than the paper's tau: its RMST is then judged at that tau."""
    import json

    if results is not None:
        r = json.loads(Path(results).read_text())
    else:
        from analytics.study import run_matched_analysis

        try:
            result = run_matched_analysis(analysis_cohort(out_dir))
            r = result.to_json_dict()
            # The paper's tau is not published: judge its RMST at survRM2's default (the shorter arm's last
            # follow-up), not at the pipeline's stated horizon (the last time with 10 at risk in both arms).
            arm = result.matched["treated"].to_numpy(int)
            t = result.matched["time_days"].to_numpy(float)
            tau = float(min(t[arm == 1].max(), t[arm == 0].max()))
            r["rmst"] = {"tau": tau, **{a: dict(zip(("estimate", "se"), result.km[a].rmst(tau), strict=True))
                                        for a in ("treated", "control")}}
        except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            r = {"error": str(exc)}
    return outcome_figures(r, scale)


def outcome_figures(r: dict, scale: float = 1.0) -> list[OutcomeFigure]:
    """`matched_outcome` from a results.json dictionary. Ranges are for scale 1 (the paper's 157 pairs) and widen
    as 1/sqrt(scale) below it."""
    km = r.get("km", {})
    get = lambda *keys: _dig(r, keys)  # noqa: E731
    widen = 1 / np.sqrt(min(scale, 1.0))
    n_t, n_c = get("km", "treated", "n"), get("km", "control", "n")
    pct = lambda events, n: None if events is None or not n else 100 * events / n  # noqa: E731

    def share(name, paper_pct, generated, n, target_pct, wins="paper", note=""):
        sd = 100 * np.sqrt(target_pct / 100 * (1 - target_pct / 100) / max(n or cal.PAPER_MATCHED_PAIRS * scale, 1))
        return OutcomeFigure(name, paper_pct, generated, target_pct, target_pct - 2 * sd, target_pct + 2 * sd, wins, note)

    def ci(name, paper, generated, low, high, log=False):
        f = (np.log, np.exp) if log else (lambda x: x, lambda x: x)
        lo, hi = (f[1](f[0](paper) - (f[0](paper) - f[0](low)) * widen), f[1](f[0](paper) + (f[0](high) - f[0](paper)) * widen))
        return OutcomeFigure(name, paper, generated, paper, lo, hi, "paper", "the paper's 95 % CI")

    def rel(name, paper, generated, tol, note=""):
        return OutcomeFigure(name, paper, generated, paper, paper * (1 - tol * widen), paper * (1 + tol * widen), "paper", note)

    pairs = len(get("matching", "pairs") or []) or None
    tau = get("rmst", "tau")
    control_pct = 100 * (cal.PROACT_CONTROL_DEATHS_WITHIN + cal.PROACT_CONTROL_DEATHS_LATER) / cal.PROACT_ELIGIBLE_CONTROLS
    paper_control_pct = 100 * cal.PAPER_DEATHS_CONTROL / cal.PAPER_MATCHED_PAIRS
    figs = [
        rel("matched pairs", cal.PAPER_MATCHED_PAIRS * scale, pairs, 0.15,
            "the pipeline matches every eligible treated patient; the paper matched 157 of its 170"),
        share("deaths, treated (% of matched)", 100 * cal.PAPER_DEATHS_TREATED / cal.PAPER_MATCHED_PAIRS,
              pct(get("km", "treated", "events"), n_t), n_t, 100 * cal.PAPER_DEATHS_TREATED / cal.PAPER_MATCHED_PAIRS),
        share("deaths, control (% of matched)", paper_control_pct, pct(get("km", "control", "events"), n_c), n_c,
              control_pct, wins="real download",
              note=f"the real download's share for all eligible controls ({control_pct:.1f} %) wins; the paper's "
                   f"{paper_control_pct:.1f} % is {paper_control_pct - control_pct:.1f} points (x"
                   f"{paper_control_pct / control_pct:.2f}) above it, which matching on the paper's covariates "
                   "does not produce"),
        ci("control median survival (days)", cal.PAPER_CONTROL_MEDIAN_DAYS, get("km", "control", "median"),
           *cal.PAPER_CONTROL_MEDIAN_CI_DAYS),
        rel(f"RMST treated (days, tau {tau:.0f})" if tau else "RMST treated (days)", cal.PAPER_RMST_TREATED_DAYS,
            get("rmst", "treated", "estimate"), cal.RMST_REL_TOL,
            "tau not published; here the shorter arm's last follow-up (one control's death day)"),
        rel(f"RMST control (days, tau {tau:.0f})" if tau else "RMST control (days)", cal.PAPER_RMST_CONTROL_DAYS,
            get("rmst", "control", "estimate"), cal.RMST_REL_TOL,
            "follows the control deaths (real download wins: fewer, so a higher RMST than the paper's)"),
        ci("Cox HR single-cycle vs control", cal.PAPER_HR_SINGLE, get("cox", "terms", "group_single", "hr"),
           *cal.PAPER_HR_SINGLE_CI, log=True),
        ci("Cox HR multiple vs control", cal.PAPER_HR_MULTIPLE, get("cox", "terms", "group_multiple", "hr"),
           *cal.PAPER_HR_MULTIPLE_CI, log=True),
    ]
    if "error" in r or not km:
        for f in figs:
            f.note = f"not estimable: {r.get('error', 'no matched analysis')}"
    return figs


def _dig(d, keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def outcome_table(figs: list[OutcomeFigure]) -> str:
    """`matched_outcome` as a table (figure | paper | judged against | generated | range | ok), notes below it."""
    def fmt(x):
        if x is None or not np.isfinite(x):
            return "-"
        return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}" if abs(x) < 100 else f"{x:,.0f}"

    lines = ["| figure | paper | judged against | generated | range | ok |", "|---|---|---|---|---|---|"]
    notes: list[str] = []
    for f in figs:
        mark = ""
        if f.note:
            if f.note not in notes:
                notes.append(f.note)
            mark = f" [{notes.index(f.note) + 1}]"
        against = f"{fmt(f.target)} ({f.wins})"
        lines.append(f"| {f.name}{mark} | {fmt(f.paper)} | {against} | {fmt(f.generated)} | {fmt(f.low)}-{fmt(f.high)} "
                     f"| {'yes' if f.ok else 'NO'} |")
    lines += [""] + [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines)
