"""Write the committed input fixtures of the analytics tests (deterministic; re-run only to regenerate).

    uv run --frozen python tests/analytics/r/make_fixtures.py

Outputs in tests/analytics/data/: lifelines' public data sets as CSV (so the R scripts read exactly the rows the
Python tests use), ``matching_scores.csv`` (300 treated / 1500 controls, scores rounded to 4 decimals so that
exact ties occur), ``study_cohort.csv`` (synthetic matched-study cohort, ~120 treated / ~600 controls) and
``cafs_cohort.csv`` (200 patients for the CAFS test: whole days so that death days tie, integer ALSFRS-R changes,
censoring before and after 12 months, missing changes). ``cafs_toy.csv`` (8 patients) is written by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lifelines import datasets

DATA = Path(__file__).resolve().parents[1] / "data"


def matching_scores(rng: np.random.Generator) -> pd.DataFrame:
    st = np.round(rng.beta(3, 4, 300), 4)
    sc = np.round(rng.beta(2, 5, 1500), 4)
    df = pd.DataFrame(
        {
            "unit_id": [f"U{i:04d}" for i in range(1800)],
            "treated": [1] * 300 + [0] * 1500,
            "score": np.concatenate([st, sc]),
        }
    )
    return df.sample(frac=1.0, random_state=rng.integers(1 << 31)).reset_index(drop=True)


def study_cohort(rng: np.random.Generator) -> pd.DataFrame:
    n1, n0 = 126, 620
    n = n1 + n0
    treated = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    age = np.round(np.where(treated == 1, rng.normal(52, 10, n), rng.normal(56, 11, n)), 1)
    sex = np.where(rng.random(n) < np.where(treated == 1, 0.62, 0.66), "M", "F")
    onset = np.where(rng.random(n) < np.where(treated == 1, 0.22, 0.27), "bulbar", "limb")
    alsfrs = np.clip(np.round(np.where(treated == 1, rng.normal(38, 5, n), rng.normal(37, 5.5, n))), 12, 47)
    dur = np.round(np.clip(np.where(treated == 1, rng.gamma(6, 2.4, n), rng.gamma(5, 2.7, n)), 2.0, 24.0), 2)
    ril = (rng.random(n) < np.where(treated == 1, 0.85, 0.75)).astype(int)
    speed = np.round((48 - alsfrs) / dur, 4)
    group = np.where(treated == 0, "control", np.where(rng.random(n) < 0.15, "multiple", "single"))
    lp = (
        0.035 * (age - 55)
        + 0.25 * (onset == "bulbar")
        - 0.05 * (alsfrs - 37)
        - 0.3 * ril
        + 0.8 * speed
        - 0.9 * (group == "single")
        - 1.4 * (group == "multiple")
    )
    t_death = rng.exponential(900 * np.exp(-lp))
    t_cens = np.minimum(rng.uniform(200, 2200, n), 1800)
    time = np.ceil(np.minimum(t_death, t_cens))
    event = (t_death <= t_cens).astype(int)
    eligible = rng.random(n) > 0.04
    korean = np.where(treated == 1, rng.random(n) < 0.84, False)
    df = pd.DataFrame(
        {
            "subject_id": [f"T{i:03d}" if treated[i] else f"C{i:04d}" for i in range(n)],
            "treated": treated,
            "group": group,
            "time_days": time,
            "event": event,
            "age": age,
            "sex": sex,
            "onset_site": onset,
            "alsfrs_r_baseline": alsfrs,
            "riluzole": ril,
            "disease_duration_months": dur,
            "progression_speed": speed,
            "korean": korean,
            "eligible": eligible,
        }
    )
    return df.sample(frac=1.0, random_state=rng.integers(1 << 31)).reset_index(drop=True)


def cafs_cohort(rng: np.random.Generator) -> pd.DataFrame:
    n = 200
    treated = np.r_[np.ones(n // 2, int), np.zeros(n // 2, int)]
    t_death = np.ceil(rng.exponential(np.where(treated == 1, 700, 550), n))
    t_cens = np.ceil(rng.uniform(120, 900, n))  # some censored before the 12-month horizon
    time = np.minimum(t_death, t_cens)
    event = (t_death <= t_cens).astype(int)
    # a 12-month change exists only for patients still followed in the visit window (from day 275), and not always
    change = np.round(rng.normal(np.where(treated == 1, -8, -10), 6, n))
    change[(time < 275) | (rng.random(n) < 0.15)] = np.nan
    return (
        pd.DataFrame(
            {
                "subject_id": [f"P{i:03d}" for i in range(n)],
                "treated": treated,
                "time_days": time,
                "event": event,
                "alsfrs_change_12m": change,
            }
        )
        .sample(frac=1.0, random_state=rng.integers(1 << 31))
        .reset_index(drop=True)
    )


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    datasets.load_rossi().to_csv(DATA / "rossi.csv", index=False)
    datasets.load_waltons().to_csv(DATA / "waltons.csv", index=False)
    datasets.load_lung().to_csv(DATA / "lung.csv", index=False)
    datasets.load_gbsg2().to_csv(DATA / "gbsg2.csv", index=False)
    rng = np.random.default_rng(20230401)
    matching_scores(rng).to_csv(DATA / "matching_scores.csv", index=False)
    study_cohort(rng).to_csv(DATA / "study_cohort.csv", index=False)
    # its own stream, so that the fixtures above stay as they were
    cafs_cohort(np.random.default_rng(20130101)).to_csv(DATA / "cafs_cohort.csv", index=False)


if __name__ == "__main__":
    main()
