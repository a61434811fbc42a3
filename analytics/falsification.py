"""Known-null falsification: the study's matched analysis on comparisons whose true effect is null.

A design that finds an effect where there is none is biased, whatever it finds for the treatment. Two negative
controls from PRO-ACT alone, analysed exactly as the study (PS model, 1:1 matching, Cox with the paper's terms):

* ``active_vs_placebo``: the active-arm patients of the pooled trials (``active_arm_eligible``: every criterion but
  the arm) against the eligible placebo patients. The trials found no survival benefit of their drugs.
* ``placebo_halves``: the eligible placebo patients split at random into two halves (a fixed seed), one analysed
  as if treated.

Each runs under every named analysis (analytics.study.ANALYSES): under the replication's rules and under the
aligned ones (landmark time zero, deaths counted within the observation window, the ALSFRS-R rule for both arms),
so a bias of either design shows as a CI that excludes 1. Each is reported with its HR, 95 % CI and whether the
CI covers 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.study import ANALYSES, analysis_cohort, run_matched_analysis

FALSIFICATIONS: dict[str, str] = {
    "active_vs_placebo": "PRO-ACT active arms vs placebo (the trials found no survival benefit)",
    "placebo_halves": "PRO-ACT placebo patients: a random half vs the other half",
}


def _as_treated(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows analysed as the treated arm: treated 1, one injection group (the Cox model's `group_single` is then the
    treated-vs-control HR)."""
    return rows.assign(treated=1, group="single")


def falsification_cohort(cohort: pd.DataFrame, name: str, seed: int = 20230401) -> pd.DataFrame:
    """The analysis cohort of falsification ``name`` (``eligible`` true for every row analysed). ``cohort`` has the
    mart's rows of every patient: ``source``, ``eligible``, ``treated``, and ``active_arm_eligible``."""
    if name not in FALSIFICATIONS:
        raise ValueError(f"unknown falsification {name!r}: one of {', '.join(FALSIFICATIONS)}")
    eligible = cohort["eligible"].astype(bool)
    placebo = cohort[eligible & (cohort["treated"] == 0) & (cohort["source"] == "PRO-ACT")]
    if name == "active_vs_placebo":
        if "active_arm_eligible" not in cohort.columns:
            raise ValueError("cohort has no column active_arm_eligible")
        active = cohort[cohort["active_arm_eligible"].fillna(False).astype(bool)]
        out = pd.concat([_as_treated(active), placebo])
    else:
        ids = np.sort(placebo["subject_id"].astype(str).to_numpy())
        half = set(np.random.default_rng(seed).permutation(ids)[: len(ids) // 2])
        chosen = placebo["subject_id"].astype(str).isin(half)
        out = pd.concat([_as_treated(placebo[chosen]), placebo[~chosen]])
    return out.assign(eligible=True).reset_index(drop=True)


def run_falsifications(cohort: pd.DataFrame, seed: int = 20230401, analyses: tuple[str, ...] = tuple(ANALYSES),
                       **kwargs) -> pd.DataFrame:
    """Each falsification's matched analysis under each of ``analyses``: pairs, deaths per arm, HR with 95 % CI,
    whether the CI covers 1 (the expected answer), log-rank p. A comparison the cohort cannot support is a row
    with its reason."""
    rows = []
    for analysis in analyses:
        own = analysis_cohort(cohort, analysis)
        for name, label in FALSIFICATIONS.items():
            key = {"analysis": analysis, "falsification": name, "label": label}
            try:
                result = run_matched_analysis(falsification_cohort(own, name, seed), **kwargs)
            except (ValueError, ArithmeticError) as exc:
                rows.append({**key, "note": f"not estimable: {exc}"})
                continue
            hr = result.cox.summary(robust=False).loc["group_single"] if result.cox is not None else None
            rows.append({
                **key, "pairs": len(result.matching.pairs),
                "deaths_treated": result.km["treated"].events, "deaths_control": result.km["control"].events,
                "hr": hr["hr"] if hr is not None else np.nan, "lower": hr["lower"] if hr is not None else np.nan,
                "upper": hr["upper"] if hr is not None else np.nan,
                "covers_null": bool(hr["lower"] <= 1 <= hr["upper"]) if hr is not None else None,
                "logrank_p": result.logrank.p, "note": "" if hr is not None else "Cox model not estimable",
            })
    return pd.DataFrame(rows)
