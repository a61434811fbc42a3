"""Measure generated files against the paper's figures (what the calibration test and README table show).

Reads the files as a user would (CSV, by column name), applying the paper's eligibility rules.
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


def table(figs: list[Figure]) -> str:
    lines = ["| figure | paper | generated | ok |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.paper:.2f} | {f.generated:.2f} | {'yes' if f.ok else 'NO'} |" for f in figs]
    return "\n".join(lines)
