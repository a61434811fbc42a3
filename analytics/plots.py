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

from analytics.progression import DAYS_PER_MONTH
from analytics.study import AGE_CUT, ALSFRS_CUT
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


def _risk_times(tmax: float, every: float) -> np.ndarray:
    """0, every, 2 every, ... up to ``tmax``; a finer round step (6, 3, 2, 1) when that gives fewer than 4 ticks,
    a doubled one while it gives more than 11."""
    step = every
    for candidate in (every, 6.0, 3.0, 2.0, 1.0):
        step = candidate
        if candidate <= every and tmax / candidate >= 3:
            break
    while tmax / step > 10:  # e.g. days on the axis: at most ~10 columns in the risk table
        step *= 2
    return np.arange(0.0, tmax + 1e-9, step)


def km_plot(
    curves: Mapping[str, KaplanMeier],
    p_value: float | None = None,
    conf_int: bool = True,
    risk_times: Sequence[float] | None = None,
    xlabel: str = "Time (months)",
    title: str | None = None,
    xmax: float | None = None,
    days_per_unit: float = DAYS_PER_MONTH,
    every: float = 12.0,
) -> Figure:
    """Kaplan-Meier curves as survminer's ``ggsurvplot(conf.int = TRUE, surv.median.line = "hv", risk.table =
    TRUE, pval = TRUE)``: step curves in their arm's colour, the curve's own pointwise 95 % CI (R's
    ``conf.type = "log"``, the ``lower``/``upper`` of ``KaplanMeier.table``, not recomputed) as a band, '+' at
    censoring times, a dashed median line (0.5 across to the curve, then down to the axis) where the median is
    reached, the log-rank p, and the number at risk at each x tick in a table aligned under the ticks.

    The curves' times are days; the x axis is in units of ``days_per_unit`` days (months by default).
    ``risk_times`` (in those units) are the x ticks and the columns of the risk table; by default every ``every``
    units from 0 up to the last follow-up time. Every artist carries a ``gid`` (``curve:``, ``ci:``,
    ``censor:``, ``median:`` + the curve's name) so tests can find it."""
    if not curves:
        raise ValueError("no curves to plot")
    n = len(curves)
    fig = Figure(figsize=(8, 5.2 + 0.3 * n))
    gs = fig.add_gridspec(2, 1, height_ratios=[4, 0.35 * n + 0.45], hspace=0.28)
    ax = fig.add_subplot(gs[0])
    tab_ax = fig.add_subplot(gs[1], sharex=ax)
    tmax = xmax or max(float(k.table["time"].max()) for k in curves.values()) / days_per_unit
    times = np.asarray(_risk_times(tmax, every) if risk_times is None else risk_times, dtype=float)
    right = max(tmax, float(times.max()))
    for i, (name, km) in enumerate(curves.items()):
        c = arm_colour(name, i)
        tb = km.table
        x = np.concatenate([[0.0], tb["time"].to_numpy(float) / days_per_unit])
        y = np.concatenate([[1.0], tb["surv"].to_numpy()])
        ax.step(x, y, where="post", color=c, label=name, lw=1.6, gid=f"curve:{name}")
        if conf_int:
            lo = np.concatenate([[1.0], tb["lower"].to_numpy()])
            hi = np.concatenate([[1.0], tb["upper"].to_numpy()])
            ax.fill_between(x, lo, hi, step="post", color=c, alpha=0.15, lw=0, gid=f"ci:{name}")
        cens = tb[tb["n_censor"] > 0]
        ax.plot(cens["time"] / days_per_unit, cens["surv"], "+", color=c, ms=7, mew=1.2, gid=f"censor:{name}")
        median = km.median()[0]
        if np.isfinite(median):
            m = median / days_per_unit
            ax.plot([0, m, m], [0.5, 0.5, 0], ls="--", color="#555555", lw=0.8, zorder=1.5, gid=f"median:{name}")
        at = km.survival_at(times * days_per_unit)["n_risk"].fillna(0).astype(int)
        for t, k in zip(times, at, strict=True):
            tab_ax.text(t, n - 1 - i, str(k), ha="center", va="center", color=c, fontsize=9)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(-0.04 * right, right * 1.03)  # room left of 0, so the at-risk counts clear the row labels
    ax.set_xticks(times)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Survival probability")
    # above the plot, as survminer: inside it would cover the CI bands of curves that stay high
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=n, frameon=False, handlelength=1.5,
              columnspacing=1.5)
    if p_value is not None:
        # bottom right: clear of the median lines (bottom left) and of curves, which rarely reach it
        ax.text(0.98, 0.04, f"Log-rank {_fmt_p(p_value)}", fontsize=10, ha="right", va="bottom",
                transform=ax.transAxes, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2})
    if title:
        ax.set_title(title, pad=26)
    tab_ax.set_ylim(-0.5, n - 0.5)
    tab_ax.set_yticks(range(n))
    tab_ax.set_yticklabels(list(curves)[::-1])
    for label, name in zip(tab_ax.get_yticklabels(), list(curves)[::-1], strict=True):
        label.set_color(arm_colour(name, list(curves).index(name)))
    tab_ax.tick_params(axis="y", length=0, pad=8)
    tab_ax.tick_params(axis="x", length=0, labelbottom=False)  # the counts sit under the plot's ticks
    tab_ax.set_title("Number at risk", fontsize=10, loc="left")
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)
    for s in ("top", "right", "bottom", "left"):
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


def _mirrored_histogram(ax, s: np.ndarray, t: np.ndarray, edges: np.ndarray, title: str) -> None:
    h1, _ = np.histogram(s[t == 1], bins=edges)
    h0, _ = np.histogram(s[t == 0], bins=edges)
    w = np.diff(edges)
    ax.bar(edges[:-1], h1, width=w, align="edge", color=ARM_COLOURS["BM-MSC"], alpha=0.85,
           label=f"BM-MSC (n = {int((t == 1).sum()):,})", gid="BM-MSC")
    ax.bar(edges[:-1], -h0, width=w, align="edge", color=ARM_COLOURS["PRO-ACT control"], alpha=0.85,
           label=f"PRO-ACT control (n = {int((t == 0).sum()):,})", gid="PRO-ACT control")
    ax.axhline(0, color="black", lw=0.6)
    top = max(1, int(h1.max(initial=0)), int(h0.max(initial=0))) * 1.1
    ax.set_ylim(-top, top)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):g}"))  # counts, downwards too
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("Propensity score")
    ax.set_title(title, fontsize=11)
    ax.legend(frameon=False, fontsize=8.5, loc="upper right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def ps_overlap(
    scores: Sequence[float], treated: Sequence[int], matched: Sequence[bool] | None = None, bins: int = 30
) -> Figure:
    """Propensity-score histograms by arm, mirrored (BM-MSC up, PRO-ACT control down, counts of patients): all
    patients given, and - with ``matched`` - a second panel of the matched ones only (same bins, from 0 to the
    largest score rounded up to 0.1)."""
    s = np.asarray(scores, dtype=float)
    t = np.asarray(treated).astype(int)
    edges = np.linspace(0, min(1.0, np.ceil(np.nanmax(s) * 10 + 1e-9) / 10), bins + 1)
    panels = [("All eligible patients", np.ones(len(s), bool))]
    if matched is not None:
        panels.append(("Matched patients", np.asarray(matched, dtype=bool)))
    fig = Figure(figsize=(5.2 * len(panels), 4.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, keep) in zip(axes, panels, strict=True):
        _mirrored_histogram(ax, s[keep], t[keep], edges, title)
    axes[0].set_ylabel("Patients (PRO-ACT control downwards)")
    fig.tight_layout()
    return fig


#: The Cox model's terms (analytics.study.COX_TERMS) as read in a paper: the level and its reference.
COX_TERM_LABELS = {
    "group_single": "BM-MSC single cycle (ref: control)",
    "group_multiple": "BM-MSC multiple (ref: control)",
    "sex_male": "Male (ref: female)",
    "onset_bulbar": "Bulbar onset (ref: limb)",
    "riluzole": "Riluzole (ref: none)",
    "alsfrs_r_baseline_ge31": f"ALSFRS-R ≥ {ALSFRS_CUT:g} (ref: < {ALSFRS_CUT:g})",
    "age_ge54": f"Age ≥ {AGE_CUT:g} years (ref: < {AGE_CUT:g})",
}


def forest_plot(
    summary: pd.DataFrame, labels: Mapping[str, str] | None = None, title: str | None = None
) -> Figure:
    """Hazard ratios with 95 % CI (``summary`` has ``hr, lower, upper, p`` indexed by term) on a log axis. A term
    is labelled by ``labels``, else ``COX_TERM_LABELS``, else its own name."""
    labels = {**COX_TERM_LABELS, **(labels or {})}
    s = summary.dropna(subset=["hr", "lower", "upper"])
    fig = Figure(figsize=(9, 0.5 * len(s) + 1.5))
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
    ax.annotate("HR (95 % CI), p", xy=(1.02, 1.0), xycoords="axes fraction", va="bottom", fontsize=8,
                fontweight="bold")
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
    fig.subplots_adjust(left=0.33, right=0.7)
    return fig


#: One colour per analysis where analyses share a figure (the results by data cut).
ANALYSIS_COLOURS = {"aligned": OKABE_ITO["blue"], "replication": OKABE_ITO["vermillion"]}


def hr_by_cut(points: pd.DataFrame, current: str | None = None, title: str | None = None) -> Figure:
    """Hazard ratio with 95 % CI per data cut (x: the cut, in order; ``points`` has ``export_date, analysis, hr,
    lower, upper``), one colour per analysis (``ANALYSIS_COLOURS``), side by side within a cut, log scale, a
    dashed line at HR 1; the cut ``current`` is labelled as this run's."""
    cuts = sorted(points["export_date"].unique())
    analyses = list(dict.fromkeys(points["analysis"]))
    fig = Figure(figsize=(max(4.5, 1.3 * len(cuts) + 2.5), 3.6))
    ax = fig.add_subplot()
    width = 0.15  # (the offset between analyses within a cut, so their intervals do not hide each other)
    for i, name in enumerate(analyses):
        s = points[points["analysis"] == name]
        x = np.array([cuts.index(c) for c in s["export_date"]]) + (i - (len(analyses) - 1) / 2) * width
        ax.errorbar(x, s["hr"], yerr=[s["hr"] - s["lower"], s["upper"] - s["hr"]], fmt="o-", capsize=3, ms=5,
                    color=ANALYSIS_COLOURS.get(name, _OTHER_COLOURS[i % len(_OTHER_COLOURS)]), label=name)
    ax.axhline(1.0, ls="--", color="grey", lw=0.8)
    ax.set_yscale("log")
    lo, hi = float(points["lower"].min()), float(points["upper"].max())
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo / 1.5 <= t <= hi * 1.5]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(range(len(cuts)))
    ax.set_xticklabels([f"{c}\n(this run)" if c == current else c for c in cuts])
    ax.set_xlim(-0.5, len(cuts) - 0.5)
    ax.set_xlabel("PMS export (data cut)")
    ax.set_ylabel("HR (95 % CI, log scale)")
    ax.legend(title="analysis", fontsize=8, title_fontsize=8, loc="best")
    if title:
        ax.set_title(title)
    return fig


def _box(ax, x: float, y: float, text: str, colour: str = "black", ha: str = "center", gid: str | None = None,
         fontsize: float = 10, **kw):
    return ax.text(x, y, text, ha=ha, va="center", multialignment="left" if ha != "center" else "center",
                   fontsize=fontsize, gid=gid, linespacing=1.35,
                   bbox={"boxstyle": "square,pad=0.6", "facecolor": "white", "edgecolor": colour, "lw": 1.2}, **kw)


def _arrow(ax, start, end, start_coords, end_coords) -> None:
    """An arrow between two points given as fractions of boxes (their frames, ``Text.get_bbox_patch()``) or data
    coordinates, resolved when drawn (so it meets the boxes whatever their text's size)."""
    start_coords, end_coords = (c.get_bbox_patch() if hasattr(c, "get_bbox_patch") else c
                                for c in (start_coords, end_coords))
    ax.annotate("", xy=end, xycoords=end_coords, xytext=start, textcoords=start_coords,
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.0, "shrinkA": 0, "shrinkB": 0})


def consort_diagram(
    flow: pd.DataFrame,
    pairs: int,
    matched_controls: int | None = None,
    treated_source: str = "PMS",
    control_source: str = "PRO-ACT",
    title: str | None = None,
    wrap: int = 42,
    ratio: int = 1,
) -> Figure:
    """CONSORT-style cohort flow: per source "all patients" -> "eligible", the exclusions (each step with its
    count) in a box beside that arrow; both eligible sets -> the 1:1 propensity-score matching (pairs, unmatched
    patients per source) -> the analysed matched set. ``flow`` is the cohort_flow step's table (``source, step,
    patients``; steps "all patients", "excluded: <reason>", "eligible"), ``pairs`` the matched pairs (with
    ``ratio`` k > 1: the matched sets, one per matched treated patient) and ``matched_controls`` the distinct
    matched controls (default: ``pairs``, as 1:1 without replacement)."""
    import textwrap

    matched_controls = pairs if matched_controls is None else matched_controls
    fig = Figure(figsize=(10, 6.8))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.94 if title else 0.98))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")
    arm = {control_source: "PRO-ACT control", treated_source: "BM-MSC"}
    eligible_boxes, eligible_n = {}, {}
    # the control source left (its exclusions further left), the treated source right (its exclusions right)
    layout = {control_source: (38.0, 32.0, "right"), treated_source: (62.0, 68.0, "left")}
    for source, (x, x_excl, excl_ha) in layout.items():
        rows = flow[flow["source"] == source]
        if rows.empty:
            continue
        by_step = dict(zip(rows["step"], rows["patients"].astype(int), strict=True))
        colour = ARM_COLOURS[arm[source]]
        top = _box(ax, x, 93, f"{source}: all patients\nn = {by_step.get('all patients', 0):,}", colour,
                   gid=f"all:{source}")
        excluded = [(step.removeprefix("excluded: "), n) for step, n in by_step.items()
                    if step.startswith("excluded: ")]
        lines = [f"Excluded (n = {sum(n for _, n in excluded):,})"] + [
            # (no break inside "(n = 631)": non-breaking spaces, which textwrap does not split on)
            textwrap.fill(f"{reason} (n\u00a0=\u00a0{n:,})", wrap, initial_indent="\u2022 ", subsequent_indent="   ")
            for reason, n in excluded]
        excl = _box(ax, x_excl, 69, "\n".join(lines), "#777777", ha=excl_ha, gid=f"excluded:{source}", fontsize=9)
        eligible_n[source] = by_step.get("eligible", 0)
        elig = _box(ax, x, 45, f"{source}: eligible\nn = {eligible_n[source]:,}", colour, gid=f"eligible:{source}")
        eligible_boxes[source] = elig
        _arrow(ax, (0.5, 0), (0.5, 1), top, elig)
        # the branch to the exclusions: from the vertical arrow's line, level with the box's middle
        _arrow(ax, (x, 69), (1 if excl_ha == "right" else 0, 0.5), "data", excl)
    unmatched_c = eligible_n.get(control_source, 0) - matched_controls
    unmatched_t = eligible_n.get(treated_source, 0) - pairs
    sets = "pairs" if ratio == 1 else "matched sets"
    match = _box(ax, 50, 25, f"Propensity-score matching\n(nearest neighbour, without replacement)\n"
                 f"matched 1:{ratio}: {pairs:,} {sets}\nunmatched: {unmatched_c:,} {control_source} controls, "
                 f"{unmatched_t:,} {treated_source} patients", gid="matching")
    for source, elig in eligible_boxes.items():  # straight down into the (wide) matching box
        _arrow(ax, (0.5, 0), (layout[source][0], 1), elig, ("data", match.get_bbox_patch()))
    analysed = _box(ax, 50, 6, f"Analysed matched set: {pairs + matched_controls:,} patients\n"
                    f"{pairs:,} BM-MSC ({treated_source}) and {matched_controls:,} PRO-ACT controls",
                    gid="analysed", fontweight="bold")
    _arrow(ax, (0.5, 0), (0.5, 1), match, analysed)
    if title:
        fig.suptitle(title, fontsize=12)
    return fig
