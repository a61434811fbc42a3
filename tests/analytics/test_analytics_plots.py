"""Figures: objects are built headless and carry the artists a reader needs (asserted on the Figure, not on
pixels), and render to PNG."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from analytics_ref import load_data
from matplotlib.colors import to_hex

from analytics.cox import fit_cox
from analytics.plots import (
    ARM_COLOURS,
    COX_TERM_LABELS,
    arm_colour,
    consort_diagram,
    forest_plot,
    km_plot,
    love_plot,
    ps_overlap,
)
from analytics.progression import DAYS_PER_MONTH
from analytics.study import COX_TERMS
from analytics.survival import kaplan_meier, kaplan_meier_by_group, logrank_test


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def _by_gid(artists, prefix: str) -> dict:
    return {a.get_gid().split(":", 1)[1]: a for a in artists if (a.get_gid() or "").startswith(prefix)}


def _two_arms() -> dict:
    """Days up to ~3 years; the control arm's median is reached, the BM-MSC arm's (mostly censored) is not."""
    rng = np.random.default_rng(7)
    t_c = rng.exponential(400, 60).round() + 1
    t_t = rng.uniform(30, 1100, 60).round()
    e_t = (rng.uniform(size=60) < 0.15).astype(int)
    return {"BM-MSC (matched)": kaplan_meier(t_t, e_t),
            "PRO-ACT control (matched)": kaplan_meier(t_c, np.ones(60, int))}


def test_km_plot_has_curves_censor_marks_risk_table_and_p():
    w = load_data("waltons.csv")
    curves = kaplan_meier_by_group(w["T"], w["E"], w["group"])
    p = logrank_test(w["T"], w["E"], w["group"]).p
    fig = km_plot(curves, p_value=p, risk_times=[0, 20, 40, 60], days_per_unit=1, xlabel="Days")
    ax, tab = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["control", "miR-137"]
    assert [t.get_text() for t in ax.texts] == ["Log-rank p < 0.001"]
    n_at_0 = sorted(int(t.get_text()) for t in tab.texts if t.get_position()[0] == 0)
    assert n_at_0 == sorted(k.n for k in curves.values())
    censor = _by_gid(ax.lines, "censor:")
    assert set(censor) == set(curves)
    for name, km in curves.items():
        assert censor[name].get_marker() == "+"
        assert len(censor[name].get_xdata()) == int((km.table["n_censor"] > 0).sum())
    assert _png(fig)[:4] == b"\x89PNG"


def test_km_plot_ci_bands_are_the_curves_own_log_cis_per_arm():
    curves = _two_arms()
    fig = km_plot(curves)
    ax = fig.axes[0]
    bands = _by_gid(ax.collections, "ci:")
    assert set(bands) == set(curves)
    for name, km in curves.items():
        ys = np.concatenate([p.vertices[:, 1] for p in bands[name].get_paths()])
        # the band spans exactly the table's lower..upper (R's conf.type = "log"), nothing recomputed
        assert np.isclose(ys.min(), np.nanmin(km.table["lower"]))
        assert np.isclose(ys.max(), 1.0)
        assert to_hex(bands[name].get_facecolor()[0]) == to_hex(arm_colour(name))
    assert _by_gid(km_plot(curves, conf_int=False).axes[0].collections, "ci:") == {}


def test_km_plot_x_axis_in_months_with_ticks_at_the_risk_table_times():
    curves = _two_arms()
    fig = km_plot(curves)
    ax, tab = fig.axes
    last_month = max(k.table["time"].max() for k in curves.values()) / DAYS_PER_MONTH  # ~36 months
    expected = np.arange(0, last_month + 1e-9, 12.0)
    assert len(expected) >= 3
    assert np.allclose(ax.get_xticks(), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{v:g}" for v in expected]
    for i, (name, km) in enumerate(curves.items()):
        row = len(curves) - 1 - i
        cells = sorted((t.get_position()[0], int(t.get_text())) for t in tab.texts if t.get_position()[1] == row)
        assert np.allclose([x for x, _ in cells], expected)
        # beyond an arm's last follow-up nobody is at risk (R's summary() gives no row there): 0
        at_risk = km.survival_at(expected * DAYS_PER_MONTH)["n_risk"].fillna(0).astype(int).tolist()
        assert [n for _, n in cells] == at_risk
        assert {t.get_color() for t in tab.texts if t.get_position()[1] == row} == {arm_colour(name)}
    # the curve's steps sit at the event times in months
    curve = _by_gid(ax.lines, "curve:")["PRO-ACT control (matched)"]
    km_c = curves["PRO-ACT control (matched)"]
    assert np.isclose(max(curve.get_xdata()), km_c.table["time"].max() / DAYS_PER_MONTH)
    # an explicit list is taken as given
    assert np.allclose(km_plot(curves, risk_times=[0, 6, 18]).axes[0].get_xticks(), [0, 6, 18])


def test_km_plot_median_lines_only_where_reached():
    curves = _two_arms()
    assert np.isnan(curves["BM-MSC (matched)"].median()[0])
    med_c = curves["PRO-ACT control (matched)"].median()[0]
    assert np.isfinite(med_c)
    medians = _by_gid(km_plot(curves).axes[0].lines, "median:")
    assert set(medians) == {"PRO-ACT control (matched)"}
    line = medians["PRO-ACT control (matched)"]
    m = med_c / DAYS_PER_MONTH
    assert np.allclose(line.get_xdata(), [0, m, m]) and np.allclose(line.get_ydata(), [0.5, 0.5, 0])
    assert line.get_linestyle() == "--"


def test_one_colour_per_arm_in_every_figure():
    curves = _two_arms()
    km = km_plot(curves)
    km_swapped = km_plot(dict(reversed(list(curves.items()))))  # the order of the curves changes nothing
    groups = km_plot({"PRO-ACT control": curves["PRO-ACT control (matched)"],
                      "BM-MSC single cycle": curves["BM-MSC (matched)"]})
    ps = ps_overlap([0.1, 0.2, 0.8, 0.7], [0, 0, 1, 1], matched=[True, False, True, False])

    def line_colour(fig, name):
        return to_hex(_by_gid(fig.axes[0].lines, "curve:")[name].get_color())

    control = to_hex(ARM_COLOURS["PRO-ACT control"])
    assert line_colour(km, "PRO-ACT control (matched)") == control
    assert line_colour(km_swapped, "PRO-ACT control (matched)") == control
    assert line_colour(groups, "PRO-ACT control") == control
    assert line_colour(km, "BM-MSC (matched)") == line_colour(km_swapped, "BM-MSC (matched)") == to_hex(
        ARM_COLOURS["BM-MSC"])
    assert line_colour(groups, "BM-MSC single cycle") == to_hex(ARM_COLOURS["BM-MSC single cycle"])
    for ax in ps.axes:
        bars = {p.get_gid(): to_hex(p.get_facecolor()) for p in ax.patches}
        assert bars == {"PRO-ACT control": control, "BM-MSC": to_hex(ARM_COLOURS["BM-MSC"])}
    assert len(set(ARM_COLOURS.values())) == len(ARM_COLOURS)  # distinct arms, distinct colours


def test_ps_overlap_draws_all_eligible_and_matched_panels():
    scores = [0.1, 0.2, 0.3, 0.8, 0.7, 0.4]
    treated = [0, 0, 0, 1, 1, 0]
    matched = [True, False, True, True, True, False]
    fig = ps_overlap(scores, treated, matched=matched)
    assert [ax.get_title() for ax in fig.axes] == ["All eligible patients", "Matched patients"]

    def counts(ax):
        up = sum(p.get_height() for p in ax.patches if p.get_gid() == "BM-MSC")
        down = -sum(p.get_height() for p in ax.patches if p.get_gid() == "PRO-ACT control")
        return up, down

    assert counts(fig.axes[0]) == (2, 4)
    assert counts(fig.axes[1]) == (2, 2)
    assert [t.get_text() for t in fig.axes[1].get_legend().get_texts()] == [
        "BM-MSC (n = 2)", "PRO-ACT control (n = 2)"]
    assert len(ps_overlap(scores, treated).axes) == 1


def test_love_plot():
    before = pd.Series({"age": 0.3, "sex_male": -0.2})
    after = pd.Series({"age": 0.01, "sex_male": 0.05})
    fig = love_plot(before, after)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["age", "sex_male"]
    assert _png(fig)


def test_forest_plot_labels_terms_with_their_reference_level():
    assert set(COX_TERM_LABELS) == set(COX_TERMS)  # a new model term must get its label here
    terms = [*COX_TERMS, "some_new_term"]
    s = pd.DataFrame({"hr": np.linspace(0.5, 2, len(terms)), "p": 0.04}, index=terms)
    s["lower"], s["upper"] = s["hr"] / 1.5, s["hr"] * 1.5
    fig = forest_plot(s)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "BM-MSC single cycle (ref: control)", "BM-MSC multiple (ref: control)", "Male (ref: female)",
        "Bulbar onset (ref: limb)", "Riluzole (ref: none)", "ALSFRS-R ≥ 31 (ref: < 31)",
        "Age ≥ 54 years (ref: < 54)", "some_new_term"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "1", "2"]  # plain numbers on the log axis
    r = load_data("rossi.csv")
    fig2 = forest_plot(fit_cox(r.week, r.arrest, r[["fin", "age", "prio"]]).summary(), labels={"fin": "Financial aid"})
    assert [t.get_text() for t in fig2.axes[0].get_yticklabels()] == ["Financial aid", "age", "prio"]
    assert [t.get_text() for t in fig2.axes[0].texts][0] == "HR (95 % CI), p"
    assert len(fig2.axes[0].texts) == 1 + 3 and _png(fig2)


def _flow() -> pd.DataFrame:
    return pd.DataFrame([
        ("PRO-ACT", "all patients", 11675), ("PRO-ACT", "excluded: trial arm unknown", 1681),
        ("PRO-ACT", "excluded: active arm of its trial", 7034),
        ("PRO-ACT", "excluded: more than 2 years from onset at trial start", 1750),
        ("PRO-ACT", "eligible", 1210),
        ("PMS", "all patients", 257), ("PMS", "excluded: a single injection only", 4),
        ("PMS", "excluded: fewer than two ALSFRS-R assessments after the first injection", 19),
        ("PMS", "eligible", 234),
    ], columns=["source", "step", "patients"])


def test_consort_diagram_shows_every_step_count_and_the_matching():
    flow = _flow()
    fig = consort_diagram(flow, pairs=230, title="Cohort flow")
    ax = fig.axes[0]
    boxes = {t.get_gid(): " ".join(t.get_text().split()) for t in ax.texts if t.get_gid()}
    text = " ".join(boxes.values())
    for r in flow.itertuples():
        assert f"{r.step.removeprefix('excluded: ')} (n = {r.patients:,})" in text or (
            f"{r.source}: {r.step} n = {r.patients:,}" in text), r
    assert boxes["excluded:PRO-ACT"].startswith("Excluded (n = 10,465)")
    assert boxes["excluded:PMS"].startswith("Excluded (n = 23)")
    assert "matched 1:1: 230 pairs" in boxes["matching"]
    assert "unmatched: 980 PRO-ACT controls, 4 PMS patients" in boxes["matching"]
    assert "460 patients" in boxes["analysed"] and "230 BM-MSC (PMS) and 230 PRO-ACT controls" in boxes["analysed"]
    # arrows: per source all -> eligible and the branch to its exclusions, both eligible -> matching -> analysed
    assert sum(1 for c in ax.get_children() if type(c).__name__ == "Annotation") == 7
    assert boxes["all:PRO-ACT"] and boxes["eligible:PMS"]
    assert {to_hex(t.get_bbox_patch().get_edgecolor()) for t in ax.texts if t.get_gid() == "all:PMS"} == {
        to_hex(ARM_COLOURS["BM-MSC"])}
    assert _png(fig)[:4] == b"\x89PNG"


def test_consort_diagram_of_a_one_to_k_match_counts_sets_and_controls():
    fig = consort_diagram(_flow(), pairs=200, matched_controls=390, ratio=2)
    boxes = {t.get_gid(): " ".join(t.get_text().split()) for t in fig.axes[0].texts if t.get_gid()}
    assert "matched 1:2: 200 matched sets" in boxes["matching"]
    assert "unmatched: 820 PRO-ACT controls, 34 PMS patients" in boxes["matching"]
    assert "590 patients" in boxes["analysed"] and "200 BM-MSC (PMS) and 390 PRO-ACT controls" in boxes["analysed"]
