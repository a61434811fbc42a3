"""Safety tables of the post-marketing surveillance (Nam et al. 2023, Tables 2-4), MedDRA conventions.

Counting (ICH E3 / MedDRA MSSO): a patient counts once per PT row, once per SOC row and once overall; events
are counted separately. Percent = patients / N x 100 over the whole safety population N (257 in the paper),
rounded half-up to 2 decimals (back pain 85/257 = 33.07 %). SOCs in the internationally agreed order
(``soc_order`` 1-27), PTs within a SOC by decreasing patient count, then name.

Exposure-adjusted rates (per 100 patient-years, PY = days / 365.25) over the one-year window: each patient is
observed from the first injection (day 0) to min(365, end of follow-up or death). The event rate divides all
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
    "within_one_year",
)
KINDS = {"ae": None, "adr": "adr", "sae": "serious"}
#: The MedDRA version the paper coded its events with (Nam et al. 2023: MedDRA 25.0); the tables' captions name it.
MEDDRA_VERSION = "25.0"
#: The safety window: events on or before this day after the first injection (day 0).
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


def _validate(ae: pd.DataFrame, within_one_year_only: bool) -> pd.DataFrame:
    missing = [c for c in AE_COLUMNS if c not in ae.columns]
    if missing:
        raise ValueError(f"AE frame is missing column(s): {', '.join(missing)}")
    df = ae.copy()
    for c in ("serious", "hospitalisation", "death", "adr", "within_one_year"):
        if df[c].isna().any():
            raise ValueError(f"AE column {c!r} has missing values")
        df[c] = df[c].astype(bool)
    for c in ("subject_id", "pt", "soc", "soc_order"):
        if df[c].isna().any():
            raise ValueError(f"AE column {c!r} has missing values")
    if not df["soc_order"].astype(int).between(1, 27).all():
        raise ValueError("AE column 'soc_order' must be 1..27")
    if within_one_year_only:
        df = df[df["within_one_year"]]
    return df


def safety_overview(ae: pd.DataFrame, n_safety: int, within_one_year_only: bool = True) -> pd.DataFrame:
    """Overview rows: any AE, ADR, SAE, serious ADR, AE leading to hospitalisation, death; columns
    ``category, n_patients, pct, n_events, cell``."""
    df = _validate(ae, within_one_year_only)
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
        rows.append((name, n, pct(n, n_safety), len(sub), cell(n, n_safety, len(sub))))
    return pd.DataFrame(rows, columns=["category", "n_patients", "pct", "n_events", "cell"])


def event_table(
    ae: pd.DataFrame,
    n_safety: int,
    kind: str = "ae",
    min_pct: float | None = None,
    within_one_year_only: bool = True,
) -> pd.DataFrame:
    """AE (``kind="ae"``), ADR (``"adr"``) or SAE (``"sae"``) table.

    PT rows are kept when their patient percentage is >= ``min_pct`` (defaults ``DEFAULT_MIN_PCT``); SOC header
    rows count every event of that kind in the SOC (not only the listed PTs) and appear when at least one of
    their PTs is listed. The first row is the total over all events of that kind. Columns ``level`` (total/soc/
    pt), ``soc_order, soc, pt, n_patients, pct, n_events, cell``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    threshold = DEFAULT_MIN_PCT[kind] if min_pct is None else float(min_pct)
    df = _validate(ae, within_one_year_only)
    if KINDS[kind]:
        df = df[df[KINDS[kind]]]
    df = df.assign(soc_order=df["soc_order"].astype(int))
    n_all = int(df["subject_id"].nunique())
    rows = [("total", None, "", "", n_all, pct(n_all, n_safety), len(df), cell(n_all, n_safety, len(df)))]
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
        for r in pts.itertuples(index=False):
            n, ev = int(r.n_patients), int(r.n_events)
            rows.append(("pt", int(order), soc, r.pt, n, pct(n, n_safety), ev, cell(n, n_safety, ev)))
    out = pd.DataFrame(
        rows, columns=["level", "soc_order", "soc", "pt", "n_patients", "pct", "n_events", "cell"]
    )
    out["soc_order"] = out["soc_order"].astype("Int64")
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
