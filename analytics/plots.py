"""Figures of the study report (matplotlib ``Figure`` objects, no pyplot global state, so headless-safe).

``km_plot`` follows survminer ``ggsurvplot`` conventions (step curves, optional log-CI bands, '+' censor ticks,
number-at-risk table below, log-rank p annotation); ``love_plot`` mirrors cobalt/MatchIt's SMD plot with the
0.1 threshold; ``ps_overlap`` shows score distributions by arm; ``forest_plot`` Cox HRs with 95 % CI on a log axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from analytics.survival import KaplanMeier

#: Okabe & Ito (2008), the colour-blind safe qualitative palette.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7"}

#: One colour per arm in every figure (KM curves, risk tables, PS overlap): the key is the arm's label; a label
#: with a trailing qualifier ("BM-MSC (matched)") takes its arm's colour (``arm_colour``). "BM-MSC" is all treated
#: patients, whatever their number of injection cycles.
ARM_COLOURS = {
    "PRO-ACT control": OKABE_ITO["orange"],
    "BM-MSC": OKABE_ITO["blue"],
    "BM-MSC single cycle": OKABE_ITO["sky_blue"],
    "BM-MSC multiple": OKABE_ITO["bluish_green"],
    "Korean": OKABE_ITO["reddish_purple"],
    "non-Korean": OKABE_ITO["vermillion"],
}
#: Curves that are no study arm (e.g. a test data set) take these, in order.
_OTHER_COLOURS = (OKABE_ITO["black"], "#7F7F7F", OKABE_ITO["yellow"])


def arm_colour(label: str, fallback_index: int = 0) -> str:
    """The arm's colour: ``ARM_COLOURS[label]``, else that of the label without a trailing " (...)" qualifier,
    else a neutral colour (black, grey, ...) by ``fallback_index``."""
    base = label.rsplit(" (", 1)[0] if label.endswith(")") else label
    for key in (label, base):
        if key in ARM_COLOURS:
            return ARM_COLOURS[key]
    return _OTHER_COLOURS[fallback_index % len(_OTHER_COLOURS)]


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p = NA"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def km_plot(
    curves: Mapping[str, KaplanMeier],
    p_value: float | None = None,
    conf_int: bool = False,
    risk_times: Sequence[float] | None = None,
    xlabel: str = "Time (days)",
    title: str | None = None,
    xmax: float | None = None,
) -> Figure:
    """Kaplan-Meier curves with censor ticks and a number-at-risk table (n at risk at each ``risk_times``)."""
    if not curves:
        raise ValueError("no curves to plot")
    fig = Figure(figsize=(8, 6.5))
    gs = fig.add_gridspec(2, 1, height_ratios=[4, 1.2], hspace=0.35)
    ax = fig.add_subplot(gs[0])
    tab_ax = fig.add_subplot(gs[1], sharex=ax)
    tmax = xmax or max(float(k.table["time"].max()) for k in curves.values())
    if risk_times is None:
        step = max(1.0, float(np.ceil(tmax / 6 / 50) * 50))
        risk_times = np.arange(0, tmax + 1e-9, step)
    for i, (name, km) in enumerate(curves.items()):
        c = arm_colour(name, i)
        tb = km.table
        x = np.concatenate([[0.0], tb["time"].to_numpy()])
        y = np.concatenate([[1.0], tb["surv"].to_numpy()])
        ax.step(x, y, where="post", color=c, label=name, lw=1.6)
        if conf_int:
            lo = np.concatenate([[1.0], tb["lower"].to_numpy()])
            hi = np.concatenate([[1.0], tb["upper"].to_numpy()])
            ax.fill_between(x, lo, hi, step="post", color=c, alpha=0.15, lw=0)
        cens = tb[tb["n_censor"] > 0]
        ax.plot(cens["time"], cens["surv"], "+", color=c, ms=7, mew=1.2)
        at = km.survival_at(risk_times)["n_risk"].fillna(0).astype(int)
        for t, n in zip(risk_times, at, strict=True):
            tab_ax.text(t, len(curves) - 1 - i, str(n), ha="center", va="center", color=c, fontsize=9)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.05 * tmax, tmax * 1.02)  # room left of day 0, so the at-risk counts clear the row labels
    ax.set_ylabel("Survival probability")
    ax.legend(loc="upper right", frameon=False)
    if p_value is not None:
        ax.text(0.03 * tmax, 0.1, f"Log-rank {_fmt_p(p_value)}", fontsize=10)
    if title:
        ax.set_title(title)
    tab_ax.set_ylim(-0.5, len(curves) - 0.5)
    tab_ax.set_yticks(range(len(curves)))
    tab_ax.set_yticklabels(list(curves)[::-1])
    tab_ax.tick_params(axis="y", length=0, pad=8)
    tab_ax.set_xlabel(xlabel)
    tab_ax.set_title("Number at risk", fontsize=10, loc="left")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
        tab_ax.spines[s].set_visible(False)
    return fig


def love_plot(
    smd_before: pd.Series, smd_after: pd.Series, threshold: float = 0.1, absolute: bool = True
) -> Figure:
    """Standardised mean differences before/after matching per covariate, with +-``threshold`` lines."""
    names = list(smd_before.index)
    b = smd_before.reindex(names).to_numpy(dtype=float)
    a = smd_after.reindex(names).to_numpy(dtype=float)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    fig = Figure(figsize=(6.5, 0.45 * len(names) + 1.5))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    # neutral colours: before/after are no arm (the arm colours mean an arm in every figure)
    ax.scatter(b, y, marker="o", facecolors="none", edgecolors=_OTHER_COLOURS[1], label="Before matching")
    ax.scatter(a, y, marker="o", color=_OTHER_COLOURS[0], label="After matching")
    for t in [threshold] if absolute else [-threshold, threshold]:
        ax.axvline(t, ls="--", color="grey", lw=0.8)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlabel("Absolute standardised mean difference" if absolute else "Standardised mean difference")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def ps_overlap(
    scores: Sequence[float], treated: Sequence[int], matched: Sequence[bool] | None = None, bins: int = 30
) -> Figure:
    """Propensity-score histograms by arm (mirrored: treated up, control down), optionally matched units only."""
    s = np.asarray(scores, dtype=float)
    t = np.asarray(treated).astype(int)
    keep = np.ones(len(s), bool) if matched is None else np.asarray(matched, dtype=bool)
    edges = np.linspace(0, 1, bins + 1)
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    h1, _ = np.histogram(s[(t == 1) & keep], bins=edges)
    h0, _ = np.histogram(s[(t == 0) & keep], bins=edges)
    w = np.diff(edges)
    ax.bar(edges[:-1], h1, width=w, align="edge", color=ARM_COLOURS["BM-MSC"], alpha=0.8, label="BM-MSC")
    ax.bar(edges[:-1], -h0, width=w, align="edge", color=ARM_COLOURS["PRO-ACT control"], alpha=0.8,
           label="PRO-ACT control")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("Propensity score")
    ax.set_ylabel("Patients (control shown downwards)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def forest_plot(
    summary: pd.DataFrame, labels: Mapping[str, str] | None = None, title: str | None = None
) -> Figure:
    """Hazard ratios with 95 % CI (``summary`` has ``hr, lower, upper, p`` indexed by term) on a log axis."""
    labels = dict(labels or {})
    s = summary.dropna(subset=["hr", "lower", "upper"])
    fig = Figure(figsize=(7.5, 0.5 * len(s) + 1.5))
    ax = fig.add_subplot()
    y = np.arange(len(s))[::-1]
    ax.errorbar(
        s["hr"],
        y,
        xerr=[s["hr"] - s["lower"], s["upper"] - s["hr"]],
        fmt="s",
        color="black",
        ecolor="black",
        capsize=3,
        ms=5,
    )
    ax.axvline(1.0, ls="--", color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([labels.get(i, i) for i in s.index])
    for yy, (_, r) in zip(y, s.iterrows(), strict=True):
        ax.annotate(
            f"{r['hr']:.2f} ({r['lower']:.2f}-{r['upper']:.2f}), {_fmt_p(r['p'])}",
            xy=(1.02, yy),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
    # Plain-number ticks at round values (matplotlib's log axis labels every minor tick as 2x10^-1 ..., which
    # overlap on a narrow axis).
    lo, hi = float(s["lower"].min()), float(s["upper"].max())
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo / 1.5 <= t <= hi * 1.5]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Hazard ratio (95 % CI, log scale)")
    if title:
        ax.set_title(title)
    fig.subplots_adjust(left=0.3, right=0.68)
    return fig
