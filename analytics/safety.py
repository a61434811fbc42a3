"""Safety tables of the post-marketing surveillance (Nam et al. 2023, Tables 2-4), MedDRA conventions.

Counting (ICH E3 / MedDRA MSSO): a patient counts once per PT row, once per SOC row and once overall; events
are counted separately. Percent = patients / N x 100 over the whole safety population N (257 in the paper),
rounded half-up to 2 decimals (back pain 85/257 = 33.07 %). SOCs in the internationally agreed order
(``soc_order`` 1-27), PTs within a SOC by decreasing patient count, then name.

The window is the study's safety window (``window_days``; one year, 365 days, in the paper): the AE frame's
``within_safety_window`` flag (the marts compute it from the same number) selects the events, and the exposure
is cut at the same day. Exposure-adjusted rates (per 100 patient-years, PY = days / 365.25) over the window: each
patient is observed from the first injection (day 0) to min(window, end of follow-up or death). The event rate divides all
events by the total exposure; the exposure-adjusted incidence rate (EAIR) divides the patients with a first event
by the time at risk of a first event (to the first event's onset for those who had one, else the whole exposure),
with the exact Poisson (Garwood) 95 % CI - R ``poisson.test``. An event without an onset day that cannot be
placed before the first injection is placed on day 0 (the ADaM convention the marts use for partial dates).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import stats

AE_COLUMNS = (
    "subject_id",
    "pt",
    "soc",
    "soc_order",
    "serious",
    "hospitalisation",
    "death",
    "adr",
    "within_safety_window",
)
KINDS = {"ae": None, "adr": "adr", "sae": "serious"}
#: The MedDRA version the paper coded its events with (Nam et al. 2023: MedDRA 25.0); the tables' captions name it.
MEDDRA_VERSION = "25.0"
#: The paper's safety window: events on or before this day after the first injection (day 0).
WINDOW_DAYS = 365
DAYS_PER_YEAR = 365.25
#: Patient-years per rate unit: rates per 100 PY.
RATE_PER = 100.0
#: Default inclusion thresholds of the paper's tables: AEs in >= 5 % of patients, all ADRs, SAEs in >= 1 %.
DEFAULT_MIN_PCT = {"ae": 5.0, "adr": 0.0, "sae": 1.0}


def pct(n: int, total: int) -> float:
    """n / total x 100 rounded half-up to 2 decimals (exact rational arithmetic, no binary rounding surprise)."""
    if total <= 0:
        raise ValueError("safety population size must be positive")
    q = Fraction(100 * n, total)
    return float(
        (Decimal(q.numerator) / Decimal(q.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    )


def cell(n_patients: int, total: int, n_events: int) -> str:
    """'n (%) [events]' cell text, e.g. '85 (33.07%) [114]'."""
    return f"{n_patients} ({pct(n_patients, total):.2f}%) [{n_events}]"


def _validate(ae: pd.DataFrame, window_only: bool) -> pd.DataFrame:
    missing = [c for c in AE_COLUMNS if c not in ae.columns]
    if missing:
        raise ValueError(f"AE frame is missing column(s): {', '.join(missing)}")
    df = ae.copy()
    for c in ("serious", "hospitalisation", "death", "adr", "within_safety_window"):
        if df[c].isna().any():
            raise ValueError(f"AE column {c!r} has missing values")
        df[c] = df[c].astype(bool)
    for c in ("subject_id", "pt", "soc", "soc_order"):
        if df[c].isna().any():
            raise ValueError(f"AE column {c!r} has missing values")
    if not df["soc_order"].astype(int).between(1, 27).all():
        raise ValueError("AE column 'soc_order' must be 1..27")
    if window_only:
        df = df[df["within_safety_window"]]
    return df


#: The overview's rows: category key (stable, used in the step's numbers) and its CSR label.
OVERVIEW_LABELS = {
    "Adverse events": "Patients with any adverse event",
    "Adverse drug reactions": "Patients with any adverse drug reaction",
    "Serious adverse events": "Patients with any serious adverse event",
    "Serious adverse drug reactions": "Patients with any serious adverse drug reaction",
    "Adverse events with hospitalisation": "Patients with an adverse event leading to hospitalisation",
    "Deaths": "Patients with an adverse event with fatal outcome",
}
#: The total row's label of each table.
TOTAL_LABELS = {"ae": "Any adverse event", "adr": "Any adverse drug reaction", "sae": "Any serious adverse event"}
RATE_COLUMNS = ["events_per_100py", "eair_per_100py", "eair_lower", "eair_upper"]


def safety_overview(ae: pd.DataFrame, n_safety: int, window_only: bool = True,
                    patients: pd.DataFrame | None = None, window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """Overview rows: any AE, ADR, SAE, serious ADR, AE leading to hospitalisation, AE with fatal outcome;
    columns ``category, label, n_patients, pct, n_events, cell``. With ``patients`` (``subject_id,
    followup_end_day`` and optionally ``death_day``, days from the first injection) also the rates per 100 PY
    (``RATE_COLUMNS``) and, given ``death_day``, a row of deaths of any cause within the window (events =
    deaths). ``window_days``: the window the AE frame's ``within_safety_window`` was computed for."""
    df = _validate(ae, window_only)
    expo = _exposure(patients, df, window_only, window_days) if patients is not None else None
    cats = [
        ("Adverse events", pd.Series(True, index=df.index)),
        ("Adverse drug reactions", df["adr"]),
        ("Serious adverse events", df["serious"]),
        ("Serious adverse drug reactions", df["serious"] & df["adr"]),
        ("Adverse events with hospitalisation", df["hospitalisation"]),
        ("Deaths", df["death"]),
    ]
    rows = []
    for name, m in cats:
        sub = df[m.to_numpy(dtype=bool)]
        n = int(sub["subject_id"].nunique())
        row = {"category": name, "label": OVERVIEW_LABELS[name], "n_patients": n, "pct": pct(n, n_safety),
               "n_events": len(sub), "cell": cell(n, n_safety, len(sub))}
        if expo is not None:
            row.update(_rates(sub, expo, window_days))
        rows.append(row)
    if patients is not None and "death_day" in patients.columns:
        d = pd.to_numeric(patients["death_day"], errors="coerce")
        n = int(((d >= 0) & (d <= window_days)).sum())
        row = {"category": "Deaths within the window", "label": f"Deaths (any cause) up to day {window_days}",
               "n_patients": n, "pct": pct(n, n_safety), "n_events": n, "cell": cell(n, n_safety, n)}
        if expo is not None:
            rate = poisson_rate_ci(n, float(np.nansum(expo)) / DAYS_PER_YEAR)
            row.update(dict(zip(RATE_COLUMNS, (rate[0], *rate), strict=True)))
        rows.append(row)
    cols = ["category", "label", "n_patients", "pct", "n_events", "cell"] + (RATE_COLUMNS if expo is not None else [])
    return pd.DataFrame(rows, columns=cols)


def event_table(
    ae: pd.DataFrame,
    n_safety: int,
    kind: str = "ae",
    min_pct: float | None = None,
    window_only: bool = True,
    patients: pd.DataFrame | None = None,
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    """AE (``kind="ae"``), ADR (``"adr"``) or SAE (``"sae"``) table.

    PT rows are kept when their patient percentage is >= ``min_pct`` (defaults ``DEFAULT_MIN_PCT``); SOC header
    rows count every event of that kind in the SOC (not only the listed PTs) and appear when at least one of
    their PTs is listed. The first row is the total over all events of that kind. Columns ``level`` (total/soc/
    pt), ``soc_order, soc, pt, n_patients, pct, n_events, cell``; with ``patients`` (``subject_id,
    followup_end_day``) also each row's rates per 100 PY (``RATE_COLUMNS``: all events over the exposure; the
    row's patients over their time at risk of a first event, with its exact Poisson CI).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    threshold = DEFAULT_MIN_PCT[kind] if min_pct is None else float(min_pct)
    df = _validate(ae, window_only)
    expo = _exposure(patients, df, window_only, window_days) if patients is not None else None
    if KINDS[kind]:
        df = df[df[KINDS[kind]]]
    df = df.assign(soc_order=df["soc_order"].astype(int))
    n_all = int(df["subject_id"].nunique())
    rows = [("total", None, "", "", n_all, pct(n_all, n_safety), len(df), cell(n_all, n_safety, len(df)))]
    subsets = [df]
    thr = Fraction(str(threshold))
    for (order, soc), sdf in df.groupby(["soc_order", "soc"], sort=True):
        pts = sdf.groupby("pt").agg(n_patients=("subject_id", "nunique"), n_events=("subject_id", "size"))
        pts = pts[[Fraction(100 * int(n), n_safety) >= thr for n in pts["n_patients"]]]
        if pts.empty:
            continue
        pts = pts.reset_index().sort_values(["n_patients", "pt"], ascending=[False, True], kind="stable")
        ns = int(sdf["subject_id"].nunique())
        rows.append(
            ("soc", int(order), soc, "", ns, pct(ns, n_safety), len(sdf), cell(ns, n_safety, len(sdf)))
        )
        subsets.append(sdf)
        for r in pts.itertuples(index=False):
            n, ev = int(r.n_patients), int(r.n_events)
            rows.append(("pt", int(order), soc, r.pt, n, pct(n, n_safety), ev, cell(n, n_safety, ev)))
            subsets.append(sdf[sdf["pt"] == r.pt])
    out = pd.DataFrame(
        rows, columns=["level", "soc_order", "soc", "pt", "n_patients", "pct", "n_events", "cell"]
    )
    out["soc_order"] = out["soc_order"].astype("Int64")
    if expo is not None:
        rates = pd.DataFrame([_rates(sub, expo, window_days) for sub in subsets], columns=RATE_COLUMNS)
        out = pd.concat([out, rates], axis=1)
    return out


def exposure_days(followup_end_day, window: float = WINDOW_DAYS) -> np.ndarray:
    """Days each patient is observed within the window: min(window, end of follow-up or death), not below 0;
    NaN where the end of follow-up is unknown (such a patient adds no patient-years)."""
    end = np.asarray(pd.to_numeric(pd.Series(followup_end_day), errors="coerce"), dtype=float)
    return np.where(np.isnan(end), np.nan, np.clip(end, 0.0, float(window)))


def poisson_rate_ci(count: int, person_years: float, conf_level: float = 0.95,
                    per: float = RATE_PER) -> tuple[float, float, float]:
    """Rate per ``per`` person-years with the exact Poisson (Garwood 1936) CI, as R ``poisson.test(count, T)``:
    lower = qchisq(a/2, 2x)/2 (0 when x = 0), upper = qchisq(1 - a/2, 2x + 2)/2, each over T. NaN without
    exposure."""
    if count < 0 or int(count) != count:
        raise ValueError("count must be a non-negative integer")
    if not np.isfinite(person_years) or person_years <= 0:
        return (np.nan, np.nan, np.nan)
    a = 1.0 - conf_level
    lower = 0.0 if count == 0 else stats.chi2.ppf(a / 2, 2 * count) / 2
    upper = stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2
    k = per / person_years
    return (count * k, float(lower) * k, float(upper) * k)


def _exposure(patients: pd.DataFrame, df: pd.DataFrame, window_only: bool, window_days: int) -> pd.Series:
    """Each safety patient's exposure in days within the window, by subject_id (NaN: follow-up unknown). Every
    patient with an event must be a safety patient with a known exposure, and events need ``onset_day``."""
    if not window_only:
        raise ValueError("rates per patient-year are defined over the safety window only")
    missing = [c for c in ("subject_id", "followup_end_day") if c not in patients.columns]
    if missing:
        raise ValueError(f"patient frame is missing column(s): {', '.join(missing)}")
    if "onset_day" not in df.columns:
        raise ValueError("AE frame is missing column(s): onset_day (needed for rates and times to first event)")
    if patients["subject_id"].duplicated().any():
        raise ValueError("patient frame has duplicate subject_id")
    expo = pd.Series(exposure_days(patients["followup_end_day"], window_days), index=patients["subject_id"].to_numpy())
    with_events = pd.Index(df["subject_id"].unique())
    unknown = with_events.difference(expo.dropna().index)
    if len(unknown):
        raise ValueError(f"{len(unknown)} patient(s) with an adverse event have no known exposure "
                         f"(e.g. {unknown[0]})")
    return expo


def _onset(df: pd.DataFrame, window_days: int) -> pd.Series:
    """Onset day within the window: an undated treatment-emergent event on day 0, clipped to 0..window_days."""
    return pd.to_numeric(df["onset_day"], errors="coerce").fillna(0.0).clip(0.0, float(window_days))


def _rates(sub: pd.DataFrame, expo: pd.Series, window_days: int) -> dict:
    """Events per 100 PY over all exposure, and the EAIR per 100 PY: patients with a first event in ``sub`` over
    the time at risk (to the first onset for them, the whole exposure for the others) with its exact CI."""
    total_days = float(np.nansum(expo.to_numpy()))
    py = total_days / DAYS_PER_YEAR
    first = _onset(sub, window_days).groupby(sub["subject_id"]).min()
    at_risk_days = total_days - float((expo.reindex(first.index) - np.minimum(first, expo.reindex(first.index))).sum())
    eair = poisson_rate_ci(len(first), at_risk_days / DAYS_PER_YEAR)
    return {"events_per_100py": len(sub) / py * RATE_PER if py > 0 else np.nan, "eair_per_100py": eair[0],
            "eair_lower": eair[1], "eair_upper": eair[2]}


def patient_years(patients: pd.DataFrame, window_days: int = WINDOW_DAYS) -> float:
    """Total exposure within the window in patient-years (patients with unknown follow-up add none)."""
    return float(np.nansum(exposure_days(patients["followup_end_day"], window_days))) / DAYS_PER_YEAR


def time_to_first_event(ae: pd.DataFrame, patients: pd.DataFrame, kind: str = "ae",
                        window_days: int = WINDOW_DAYS) -> pd.DataFrame:
    """Per safety patient with a known follow-up: days from the first injection to the first event of ``kind``
    within the window (``event`` 1), else censored (0) at the exposure's end - min(window_days, end of follow-up
    or death). Columns ``subject_id, time, event``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    df = _validate(ae, True)
    expo = _exposure(patients, df, True, window_days).dropna()
    if KINDS[kind]:
        df = df[df[KINDS[kind]]]
    first = _onset(df, window_days).groupby(df["subject_id"]).min()
    time = expo.copy()
    time.loc[first.index] = first.to_numpy()
    event = pd.Series(0, index=expo.index)
    event.loc[first.index] = 1
    return pd.DataFrame({"subject_id": expo.index, "time": time.to_numpy(float), "event": event.to_numpy(int)})


#: Days at which the cumulative incidence of a first event is reported.
INCIDENCE_DAYS = (30, 90, 180, 365)


def first_event_summary(ae: pd.DataFrame, patients: pd.DataFrame, kinds=("ae", "sae"),
                        days=INCIDENCE_DAYS, window_days: int = WINDOW_DAYS) -> tuple[pd.DataFrame, dict]:
    """Kaplan-Meier of the time to the first event per kind (R ``survfit``, log CI): one row per kind with
    ``kind, n, events, median, median_lower, median_upper`` (NaN when not reached) and the cumulative incidence
    1 - S(t) with its CI (1 - upper, 1 - lower) at ``days`` (``cuminc_<d>``, ``cuminc_<d>_lower``,
    ``cuminc_<d>_upper``; NaN when nobody was followed to day d). Censoring (end of follow-up, death, the window's
    end) is taken as non-informative: with deaths as a competing risk 1 - KM overstates the incidence slightly.
    Returns the table and the curves by kind."""
    from analytics.survival import kaplan_meier

    rows, curves = [], {}
    for kind in kinds:
        tte = time_to_first_event(ae, patients, kind, window_days)
        km = kaplan_meier(tte["time"], tte["event"])
        curves[kind] = km
        med, lo, hi = km.median()
        row = {"kind": kind, "n": km.n, "events": km.events, "median": med, "median_lower": lo, "median_upper": hi}
        at = km.survival_at(list(days))
        for d, s, low, up in zip(days, at["surv"], at["lower"], at["upper"], strict=True):
            row[f"cuminc_{d}"] = 1 - s
            row[f"cuminc_{d}_lower"] = 1 - up
            row[f"cuminc_{d}_upper"] = 1 - low
        rows.append(row)
    return pd.DataFrame(rows), curves


# --- the clinical study report's layout (as rtables/tern lay such tables out) ---------------------------------

NBSP = "\u00a0"
#: How far a preferred term is indented under its SOC: non-breaking spaces (HTML keeps them, escaping leaves them)
#: behind a word joiner (U+2060, invisible): pandas' ``to_html`` strips leading whitespace, NBSP included, and the
#: joiner is not whitespace.
PT_INDENT = "\u2060" + NBSP * 4


def _fmt_days(v: float) -> str:
    return "NR" if pd.isna(v) else f"{v:.0f}"


def _fmt_rate(rate: float, lower: float | None = None, upper: float | None = None) -> str:
    if pd.isna(rate):
        return "NE"
    return f"{rate:.1f}" if lower is None else f"{rate:.1f} ({lower:.1f}-{upper:.1f})"


def n_pct(n: int, total: int) -> str:
    """'n (%)' with the percentage half-up to 2 decimals, e.g. '85 (33.07%)'."""
    return f"{n} ({pct(n, total):.2f}%)"


def _rate_columns(table: pd.DataFrame) -> dict:
    if "events_per_100py" not in table.columns:
        return {}
    return {
        "events / 100 PY": [_fmt_rate(v) for v in table["events_per_100py"]],
        "patients / 100 PY (95 % CI)": [_fmt_rate(*r) for r in zip(
            table["eair_per_100py"], table["eair_lower"], table["eair_upper"], strict=True)],
    }


def _csr(label_header: str, labels: list[str], table: pd.DataFrame, n_safety: int, arm: str) -> pd.DataFrame:
    """Two header rows as rtables prints them: the arm with its N spanning its columns, then the statistics."""
    stats_cols = {"n (%)": [n_pct(n, n_safety) for n in table["n_patients"]],
                  "events": table["n_events"].astype(int).astype(str).tolist(), **_rate_columns(table)}
    out = pd.DataFrame({("", label_header): labels, **{(f"{arm} (N = {n_safety})", k): v for k, v in stats_cols.items()}})
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def csr_overview(overview: pd.DataFrame, n_safety: int, arm: str = "BM-MSC") -> pd.DataFrame:
    """The overview as a report table: label, 'n (%)' under the arm's N, events, rates when present."""
    return _csr("", overview["label"].tolist(), overview, n_safety, arm)


def csr_event_table(table: pd.DataFrame, n_safety: int, kind: str = "ae", arm: str = "BM-MSC") -> pd.DataFrame:
    """An ``event_table`` in the SOC-then-indented-PT layout: the total row ('Any adverse event'), then each SOC
    followed by its PTs indented (``PT_INDENT``); 'n (%)' under the arm's N, events, rates when present."""
    labels = [TOTAL_LABELS[kind] if r.level == "total" else r.soc if r.level == "soc" else PT_INDENT + r.pt
              for r in table.itertuples(index=False)]
    return _csr("System organ class / Preferred term", labels, table, n_safety, arm)


def csr_first_event(summary: pd.DataFrame, days=INCIDENCE_DAYS) -> pd.DataFrame:
    """Time to the first event as a report table: patients, first events, median (95 % CI; 'NR' not reached),
    cumulative incidence % (95 % CI) at each day ('NE' where not estimable)."""
    names = {"ae": "Any adverse event", "adr": "Any adverse drug reaction", "sae": "Any serious adverse event"}

    def inc(r, d) -> str:
        v = r[f"cuminc_{d}"]
        if pd.isna(v):
            return "NE"
        return f"{100 * v:.1f} ({100 * r[f'cuminc_{d}_lower']:.1f}-{100 * r[f'cuminc_{d}_upper']:.1f})"

    return pd.DataFrame([{
        "first event": names[r["kind"]], "patients": int(r["n"]), "with event": int(r["events"]),
        "median days (95 % CI)": f"{_fmt_days(r['median'])} ({_fmt_days(r['median_lower'])}-"
                                 f"{_fmt_days(r['median_upper'])})",
        **{f"% by day {d} (95 % CI)": inc(r, d) for d in days},
    } for _, r in summary.iterrows()])
