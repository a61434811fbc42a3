"""Figure of the safety part: cumulative incidence of the first adverse event over the safety window
(matplotlib ``Figure``, no pyplot global state; analytics/plots.py's conventions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from analytics.safety import INCIDENCE_DAYS, WINDOW_DAYS
from analytics.survival import KaplanMeier

_LABELS = {"ae": "Any adverse event", "adr": "Any adverse drug reaction", "sae": "Any serious adverse event"}
_COLOURS = ("#2E9FDF", "#FC4E07", "#E7B800")


def first_event_plot(curves: Mapping[str, KaplanMeier], risk_times: Sequence[float] | None = None,
                     title: str = "Time to the first event after the first injection",
                     window_days: int = WINDOW_DAYS) -> Figure:
    """1 - Kaplan-Meier (cumulative incidence of a first event, %) per kind with its log-CI band, censor ticks
    and the number at risk at ``risk_times`` below (default day 0 and the report days within the window); x from
    day 0 to the window's end (``window_days``)."""
    if not curves:
        raise ValueError("no curves to plot")
    if risk_times is None:
        risk_times = (0, *(d for d in INCIDENCE_DAYS if d < window_days), window_days)
    fig = Figure(figsize=(7.5, 4.6))
    gs = fig.add_gridspec(2, 1, height_ratios=[4, 1], hspace=0.45)
    ax = fig.add_subplot(gs[0])
    tab = fig.add_subplot(gs[1], sharex=ax)
    for i, (kind, km) in enumerate(curves.items()):
        c = _COLOURS[i % len(_COLOURS)]
        tb = km.table
        x = np.concatenate([[0.0], tb["time"].to_numpy(float)])
        y = 100 * (1 - np.concatenate([[1.0], tb["surv"].to_numpy(float)]))
        lo = 100 * (1 - np.concatenate([[1.0], tb["upper"].to_numpy(float)]))
        hi = 100 * (1 - np.concatenate([[1.0], tb["lower"].to_numpy(float)]))
        ax.step(x, y, where="post", color=c, lw=1.6, label=f"{_LABELS.get(kind, kind)} ({km.events} patients)")
        ax.fill_between(x, lo, hi, step="post", color=c, alpha=0.15, lw=0)
        cens = tb[(tb["n_censor"] > 0) & (tb["time"] < window_days)]
        ax.plot(cens["time"], 100 * (1 - cens["surv"]), "|", color=c, ms=6, mew=0.8)
        at = km.survival_at(list(risk_times))["n_risk"].fillna(0).astype(int)
        for t, n in zip(risk_times, at, strict=True):
            tab.text(t, len(curves) - 1 - i, str(n), ha="center", va="center", color=c, fontsize=9)
    ax.set_xlim(-0.04 * window_days, window_days * 1.03)
    ax.set_ylim(0, 100)
    ax.set_xticks(list(risk_times))
    ax.set_ylabel("Cumulative incidence (%)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="center right", frameon=False, fontsize=9)  # between the curves: AE high, SAE low
    ax.grid(axis="y", alpha=0.3)
    tab.set_ylim(-0.5, len(curves) - 0.5)
    tab.set_yticks(range(len(curves)))
    tab.set_yticklabels([_LABELS.get(k, k).replace("Any ", "") for k in list(curves)[::-1]], fontsize=9)
    tab.tick_params(axis="y", length=0, pad=8)
    tab.set_xlabel("Days from the first injection")
    tab.set_title("Number at risk", fontsize=9, loc="left")
    for a in (ax, tab):
        for s in ("top", "right"):
            a.spines[s].set_visible(False)
    return fig
