"""Figures: objects are built headless, carry the expected artists and render to PNG."""

from __future__ import annotations

import io

import pandas as pd
from analytics_ref import load_data

from analytics.cox import fit_cox
from analytics.plots import forest_plot, km_plot, love_plot, ps_overlap
from analytics.survival import kaplan_meier_by_group, logrank_test


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def test_km_plot_has_curves_censor_marks_risk_table_and_p():
    w = load_data("waltons.csv")
    curves = kaplan_meier_by_group(w["T"], w["E"], w["group"])
    p = logrank_test(w["T"], w["E"], w["group"]).p
    fig = km_plot(curves, p_value=p, conf_int=True, risk_times=[0, 20, 40, 60])
    ax, tab = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["control", "miR-137"]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["Log-rank p < 0.001"]
    n_at_0 = sorted(int(t.get_text()) for t in tab.texts if t.get_position()[0] == 0)
    assert n_at_0 == sorted(k.n for k in curves.values())
    assert len(ax.collections) == 2  # CI bands
    assert _png(fig)[:4] == b"\x89PNG"


def test_love_overlap_and_forest_plots():
    before = pd.Series({"age": 0.3, "sex_male": -0.2})
    after = pd.Series({"age": 0.01, "sex_male": 0.05})
    fig = love_plot(before, after)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["age", "sex_male"]
    assert _png(fig)
    fig2 = ps_overlap([0.1, 0.2, 0.8, 0.7], [0, 0, 1, 1])
    assert sum(p.get_height() for p in fig2.axes[0].patches) == 0  # 2 up, 2 down
    r = load_data("rossi.csv")
    s = fit_cox(r.week, r.arrest, r[["fin", "age", "prio"]]).summary()
    fig3 = forest_plot(s, labels={"fin": "Financial aid"})
    assert [t.get_text() for t in fig3.axes[0].get_yticklabels()] == ["Financial aid", "age", "prio"]
    assert len(fig3.axes[0].texts) == 3 and _png(fig3)
