"""The figures of the matched analysis, built in one place for the analysis assets (als_eca.study.steps) and
`als-eca analyze`, so both store the same PNG under the same name."""

from __future__ import annotations

import pandas as pd

from als_eca.study.html import figure_png
from analytics import plots
from analytics.study import StudyResult

RISK_TIMES = [0, 365, 730, 1095, 1460, 1825]


def km_matched(result: StudyResult, title: str = "Overall survival, matched set") -> bytes:
    """Kaplan-Meier curves of the matched set by arm, with the number at risk and the log-rank p."""
    return figure_png(plots.km_plot(
        {"BM-MSC (matched)": result.km["treated"], "PRO-ACT control (matched)": result.km["control"]},
        p_value=result.logrank.p, risk_times=RISK_TIMES, title=title))


def love_plot(result: StudyResult) -> bytes:
    """Absolute standardised mean differences before and after matching."""
    return figure_png(plots.love_plot(result.smd_before["smd"], result.smd_after["smd"]))


def ps_overlap(result: StudyResult, treated: pd.Series) -> bytes:
    """Propensity-score distributions by arm, all and matched; `treated` is the 0/1 treatment indicator indexed
    by subject id (every analysed patient)."""
    ids = result.scores.index
    return figure_png(plots.ps_overlap(result.scores.to_numpy(), treated.reindex(ids).astype(int).to_numpy(),
                                       matched=ids.isin(result.matched["subject_id"])))


def cox_forest(result: StudyResult) -> bytes:
    """Forest plot of the Cox model's hazard ratios (the model must be estimable: `result.cox` not None)."""
    summary = result.cox.summary(robust=False)
    terms = [t for t in result.cox_terms if t in summary.index]
    return figure_png(plots.forest_plot(summary.loc[terms], title="Cox model, matched set (HR, 95 % CI)"))
