"""The figures of the study, built in one place for the analysis assets (als_eca.study.steps) and
`als-eca analyze`, so both store the same PNG under the same name. Every arm has one colour in every figure
(analytics.plots.ARM_COLOURS); the curve labels below are those arms' names."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from als_eca.study.html import figure_png
from analytics import plots
from analytics.study import StudyResult
from analytics.survival import KaplanMeier

#: The number-at-risk times (and x ticks) of every Kaplan-Meier figure: every this many months.
RISK_EVERY_MONTHS = 12.0


def km_curves(curves: Mapping[str, KaplanMeier], p_value: float | None, title: str,
              xlabel: str = "Time (months)") -> bytes:
    """Kaplan-Meier curves (labels = arm names), 95 % CI bands, medians, log-rank p, number at risk every
    `RISK_EVERY_MONTHS` months."""
    return figure_png(plots.km_plot(curves, p_value=p_value, conf_int=True, every=RISK_EVERY_MONTHS, title=title,
                                    xlabel=xlabel))


def km_matched(result: StudyResult, title: str = "Overall survival, matched set",
               xlabel: str = "Time (months)") -> bytes:
    """Kaplan-Meier curves of the matched set by arm, with the number at risk and the log-rank p."""
    return km_curves({"BM-MSC (matched)": result.km["treated"], "PRO-ACT control (matched)": result.km["control"]},
                     result.logrank.p, title=title, xlabel=xlabel)


def love_plot(result: StudyResult) -> bytes:
    """Absolute standardised mean differences before and after matching."""
    return figure_png(plots.love_plot(result.smd_before["smd"], result.smd_after["smd"]))


def ps_overlap(result: StudyResult, treated: pd.Series) -> bytes:
    """Propensity-score distributions by arm, all eligible patients and the matched ones; `treated` is the 0/1
    treatment indicator indexed by subject id (every analysed patient)."""
    ids = result.scores.index
    return figure_png(plots.ps_overlap(result.scores.to_numpy(), treated.reindex(ids).astype(int).to_numpy(),
                                       matched=ids.isin(result.matched["subject_id"])))


def cox_forest(result: StudyResult) -> bytes:
    """Forest plot of the Cox model's hazard ratios (the model must be estimable: `result.cox` not None), each
    term labelled with its reference level (plots.COX_TERM_LABELS)."""
    summary = result.cox.summary(robust=False)
    terms = [t for t in result.cox_terms if t in summary.index]
    return figure_png(plots.forest_plot(summary.loc[terms], title="Cox model, matched set (HR, 95 % CI)"))


def cohort_flow(flow: pd.DataFrame, result: StudyResult, title: str = "Cohort flow") -> bytes:
    """The CONSORT-style cohort flow diagram: `flow` as the cohort_flow step's table (source, step, patients),
    the matching step from `result` (matched sets, distinct matched controls, the ratio)."""
    pairs = result.matching.pairs
    return figure_png(plots.consort_diagram(flow, pairs["treated_id"].nunique(),
                                            matched_controls=pairs["control_id"].nunique(), title=title,
                                            ratio=result.ratio))


def hr_by_cut(points: pd.DataFrame, current: str | None = None) -> bytes:
    """The single-cycle HR with its CI per data cut, one colour per analysis (als_eca.study.cuts.hr_points)."""
    return figure_png(plots.hr_by_cut(points, current=current,
                                      title="HR BM-MSC single cycle vs control, by PMS data cut"))
