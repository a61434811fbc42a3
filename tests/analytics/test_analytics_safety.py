"""Safety tables: counting (once per PT / SOC / overall), percentages over N, thresholds and MedDRA SOC order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close, load_expected

from analytics.safety import (
    DAYS_PER_YEAR,
    PT_INDENT,
    cell,
    csr_event_table,
    csr_first_event,
    csr_overview,
    event_table,
    exposure_days,
    first_event_summary,
    patient_years,
    pct,
    poisson_rate_ci,
    safety_overview,
    time_to_first_event,
)


def _ae() -> pd.DataFrame:
    rows = []

    def add(subject, pt, soc, order, serious=False, adr=False, hosp=False, death=False, year=True):
        rows.append(
            dict(
                subject_id=subject,
                pt=pt,
                soc=soc,
                soc_order=order,
                serious=serious,
                hospitalisation=hosp,
                death=death,
                adr=adr,
                within_safety_window=year,
            )
        )

    msk, nerv, resp = (
        "Musculoskeletal and connective tissue disorders",
        "Nervous system disorders",
        "Respiratory, thoracic and mediastinal disorders",
    )
    for i in range(12):  # back pain: 12 patients, 15 events (3 patients twice); 4 of them ADR
        add(f"s{i}", "Back pain", msk, 15, adr=i < 4)
        if i < 3:
            add(f"s{i}", "Back pain", msk, 15)
    for i in range(10, 16):  # pain in extremity: 6 patients (s10, s11 also had back pain)
        add(f"s{i}", "Pain in extremity", msk, 15)
    for i in range(20, 32):  # headache: 12 patients
        add(f"s{i}", "Headache", nerv, 13, adr=True)
    add("s40", "Dizziness", nerv, 13)  # 1 patient: below 5 %
    add("s41", "Respiratory failure", resp, 22, serious=True, hosp=True, death=True)
    add("s42", "Respiratory failure", resp, 22, serious=True, hosp=True)
    add("s43", "Pneumonia", "Infections and infestations", 1, serious=True, hosp=True)
    add("s44", "Headache", nerv, 13, year=False)  # after one year: excluded by default
    return pd.DataFrame(rows)


N = 100


def test_percent_rounding_matches_paper():
    assert pct(85, 257) == 33.07 and pct(20, 257) == 7.78 and pct(44, 257) == 17.12
    assert pct(1, 8) == 12.5 and pct(1, 800) == 0.13  # half-up, exact
    assert cell(85, 257, 114) == "85 (33.07%) [114]"


def test_overview_counts():
    ov = safety_overview(_ae(), N).set_index("category")
    assert ov.loc["Adverse events", "n_patients"] == 12 + 4 + 12 + 1 + 3  # s0-s15, s20-s31, s40-s43
    assert ov.loc["Adverse events", "n_events"] == 15 + 6 + 12 + 1 + 3
    assert ov.loc["Serious adverse events", "n_patients"] == 3
    assert ov.loc["Deaths", "n_patients"] == 1 and ov.loc["Deaths", "pct"] == 1.0
    assert ov.loc["Adverse drug reactions", "n_patients"] == 16
    assert ov.loc["Serious adverse drug reactions", "n_patients"] == 0
    assert safety_overview(_ae(), N, window_only=False).loc[0, "n_patients"] == 33


def test_ae_table_threshold_order_and_once_per_row():
    t = event_table(_ae(), N, "ae")
    assert t.iloc[0].level == "total"
    body = t.iloc[1:]
    # SOC order: nervous (13) before musculoskeletal (15); respiratory/infections PTs are below 5 %
    assert body[body.level == "soc"].soc_order.tolist() == [13, 15]
    msk = body[(body.soc_order == 15)]
    assert msk.iloc[0].level == "soc" and msk.iloc[0].n_patients == 16 and msk.iloc[0].n_events == 21
    assert msk.pt.tolist()[1:] == ["Back pain", "Pain in extremity"]  # descending patient count
    bp = msk[msk.pt == "Back pain"].iloc[0]
    assert (bp.n_patients, bp.n_events, bp.cell) == (12, 15, "12 (12.00%) [15]")
    nerv = body[body.soc_order == 13]
    assert (
        nerv.soc.iloc[0] == "Nervous system disorders" and nerv.iloc[0].n_patients == 13
    )  # SOC counts Dizziness
    assert "Dizziness" not in nerv.pt.tolist()


def test_adr_and_sae_tables():
    adr = event_table(_ae(), N, "adr")
    assert adr.iloc[0].n_patients == 16
    assert adr[adr.level == "pt"].pt.tolist() == ["Headache", "Back pain"]  # SOC 13 then 15, all ADRs listed
    sae = event_table(_ae(), N, "sae")
    assert sae[sae.level == "soc"].soc_order.tolist() == [1, 22]
    assert sae[sae.pt == "Respiratory failure"].iloc[0].n_patients == 2
    # ties on patient count sort by PT name
    tie = event_table(_ae(), N, "ae", min_pct=0)
    nerv = tie[(tie.soc_order == 13) & (tie.level == "pt")]
    assert nerv.pt.tolist() == ["Headache", "Dizziness"]


def test_validation():
    with pytest.raises(ValueError, match="adr"):
        event_table(_ae().drop(columns="adr"), N)
    with pytest.raises(ValueError, match="kind"):
        event_table(_ae(), N, "xyz")
    with pytest.raises(ValueError, match="soc_order"):
        event_table(_ae().assign(soc_order=30), N)
    with pytest.raises(ValueError, match="positive"):
        pct(1, 0)


def test_poisson_rate_ci_matches_r_poisson_test():
    ref = load_expected("safety_reference")
    assert len(ref["poisson"]) == 12
    for r in ref["poisson"]:
        rate, lo, hi = poisson_rate_ci(int(r["x"]), r["py"], conf_level=r["conf_level"])
        close([rate, lo, hi], [r["rate_per_100"], r["lower_per_100"], r["upper_per_100"]], rtol=1e-9)
    assert np.isnan(poisson_rate_ci(3, 0.0)[0])
    with pytest.raises(ValueError, match="count"):
        poisson_rate_ci(-1, 1.0)


def test_exposure_days_window_and_unknown():
    # follow-up to day 500 -> the window's 365; death on day 100 -> 100; unknown -> NaN; day 0 -> 0
    got = exposure_days([500, 100, None, 0, 365])
    np.testing.assert_array_equal(got[[0, 1, 3, 4]], [365, 100, 0, 365])
    assert np.isnan(got[2])


MSK, NERV = "Musculoskeletal and connective tissue disorders", "Nervous system disorders"


def _ae_row(subject, pt, soc, order, onset, serious=False):
    return dict(subject_id=subject, pt=pt, soc=soc, soc_order=order, serious=serious, hospitalisation=serious,
                death=False, adr=False, within_safety_window=True, onset_day=onset)


def _small():
    """A: followed past the window (exposure 365), headache days 10 and 50, back pain day 300 (serious);
    B: died day 100 (exposure 100), undated headache (placed on day 0); C: follow-up unknown, no event;
    D: followed to day 200, no event."""
    ae = pd.DataFrame([
        _ae_row("A", "Headache", NERV, 13, 10), _ae_row("A", "Headache", NERV, 13, 50),
        _ae_row("A", "Back pain", MSK, 15, 300, serious=True), _ae_row("B", "Headache", NERV, 13, None),
    ])
    patients = pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "followup_end_day": [500, 100, None, 200],
                             "death_day": [None, 100, None, None]})
    return ae, patients


def test_rates_per_100_patient_years_by_hand():
    ae, patients = _small()
    py = (365 + 100 + 200) / 365.25  # C adds nothing
    assert patient_years(patients) == pytest.approx(py)
    t = event_table(ae, 4, "ae", min_pct=0, patients=patients)
    total = t.iloc[0]
    assert total.events_per_100py == pytest.approx(4 / py * 100)
    # first AE: A on day 10, B on day 0, D at risk for its 200 days
    assert total.eair_per_100py == pytest.approx(2 / ((10 + 0 + 200) / 365.25) * 100)
    bp = t[t.pt == "Back pain"].iloc[0]
    at_risk = (300 + 100 + 200) / 365.25
    assert bp.events_per_100py == pytest.approx(1 / py * 100)
    assert bp.eair_per_100py == pytest.approx(100 / at_risk)
    # Garwood by the chi-square formulas: x = 1 -> [chi2(0.025; 2)/2, chi2(0.975; 4)/2] / PY
    from scipy.stats import chi2
    assert bp.eair_lower == pytest.approx(chi2.ppf(0.025, 2) / 2 / at_risk * 100)
    assert bp.eair_upper == pytest.approx(chi2.ppf(0.975, 4) / 2 / at_risk * 100)
    # a SOC's first event is the first of any of its PTs; the counts are unchanged by the rates
    nerv = t[(t.level == "soc") & (t.soc_order == 13)].iloc[0]
    assert (nerv.n_patients, nerv.n_events) == (2, 3)
    assert nerv.eair_per_100py == pytest.approx(2 / ((10 + 0 + 200) / 365.25) * 100)
    assert event_table(ae, 4, "ae", min_pct=0)[["n_patients", "n_events"]].equals(t[["n_patients", "n_events"]])


def test_overview_with_rates_and_deaths_in_the_window():
    ae, patients = _small()
    patients.loc[2, "death_day"] = 400  # after the window: not counted
    ov = safety_overview(ae, 4, patients=patients).set_index("category")
    assert ov.loc["Serious adverse events", "n_patients"] == 1
    assert ov.loc["Serious adverse events", "eair_per_100py"] == pytest.approx(100 / ((300 + 100 + 200) / 365.25))
    assert ov.loc["Deaths within the window", "n_patients"] == 1
    assert ov.loc["Adverse events", "label"] == "Patients with any adverse event"
    shown = csr_overview(ov.reset_index(), 4)
    assert shown.columns[1] == ("BM-MSC (N = 4)", "n (%)") and shown.iloc[0, 1] == "2 (50.00%)"
    assert shown.iloc[0, 2] == "4" and shown.iloc[0, 0] == "Patients with any adverse event"
    assert shown.columns[4] == ("BM-MSC (N = 4)", "patients / 100 PY (95 % CI)")
    x = 2 / ((10 + 0 + 200) / 365.25) * 100  # 347.9 per 100 PY
    assert shown.iloc[0, 4].startswith(f"{x:.1f} (")


def test_rates_need_a_known_exposure_for_every_patient_with_an_event():
    ae, patients = _small()
    with pytest.raises(ValueError, match="no known exposure"):
        event_table(ae, 4, patients=patients.assign(followup_end_day=[None, 100, None, 200]))
    with pytest.raises(ValueError, match="onset_day"):
        event_table(ae.drop(columns="onset_day"), 4, patients=patients)
    with pytest.raises(ValueError, match="safety window only"):
        safety_overview(ae, 4, window_only=False, patients=patients)


def test_layout_soc_then_its_indented_pts():
    t = event_table(_ae(), N, "ae")
    shown = csr_event_table(t, N, "ae")
    labels = shown[("", "System organ class / Preferred term")].tolist()
    assert labels == ["Any adverse event", NERV, PT_INDENT + "Headache", MSK, PT_INDENT + "Back pain",
                      PT_INDENT + "Pain in extremity"]
    assert list(shown.columns[1:]) == [(f"BM-MSC (N = {N})", "n (%)"), (f"BM-MSC (N = {N})", "events")]
    assert shown.iloc[4, 1:].tolist() == ["12 (12.00%)", "15"]
    assert csr_event_table(event_table(_ae(), N, "sae"), N, "sae").iloc[0, 0] == "Any serious adverse event"
    # the indentation survives the report's HTML rendering (pandas strips leading whitespace, NBSP included)
    html = shown.to_html(index=False, escape=True)
    assert "<td>\u2060\u00a0\u00a0\u00a0\u00a0Headache</td>" in html and f"<td>{NERV}</td>" in html
    assert f'<th colspan="2" halign="left">BM-MSC (N = {N})</th>' in html  # the arm's N spans its columns


def test_time_to_first_event_censors_at_the_window_and_death():
    ae, patients = _small()
    tte = time_to_first_event(ae, patients, "ae").set_index("subject_id")
    assert tte.index.tolist() == ["A", "B", "D"]  # C: follow-up unknown
    assert tte.loc["A"].tolist() == [10, 1] and tte.loc["B"].tolist() == [0, 1] and tte.loc["D"].tolist() == [200, 0]
    sae = time_to_first_event(ae, patients, "sae").set_index("subject_id")
    # A's first SAE on day 300; B censored at death (day 100); a follow-up past the window is cut at day 365
    assert sae.loc["A"].tolist() == [300, 1] and sae.loc["B"].tolist() == [100, 0]
    no_event = time_to_first_event(ae.iloc[:0], patients, "ae").set_index("subject_id")
    assert no_event.loc["A"].tolist() == [365, 0] and no_event["event"].sum() == 0


def _first_ae_toy():
    """The R script's toy patients: times to the first AE (event 1) or censoring (0)."""
    time = [3, 3, 10, 45, 45, 120, 200, 365, 365, 365, 365, 150, 90, 0]
    event = [1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]
    ae, pts = [], []
    for i, (t, e) in enumerate(zip(time, event, strict=True)):
        # censored at 365: followed to day 365, 400 or 800 - all cut at the window
        end = {0: 365, 1: 400, 2: 800}[i % 3] if (t == 365 and not e) else (t if not e else 365)
        pts.append({"subject_id": f"p{i}", "followup_end_day": end})
        if e:
            ae.append(_ae_row(f"p{i}", "Headache", NERV, 13, t))
    return pd.DataFrame(ae), pd.DataFrame(pts)


def test_first_event_km_matches_r_and_reports_nr():
    ref = load_expected("safety_reference")["first_ae"]
    ae, patients = _first_ae_toy()
    summary, curves = first_event_summary(ae, patients, kinds=("ae", "sae"))
    row = summary.set_index("kind").loc["ae"]
    close([row["median"], row["median_lower"], row["median_upper"]], [ref["median"], ref["lcl"], ref["ucl"]])
    for r in ref["at"]:
        d = int(r["time"])
        close([row[f"cuminc_{d}"], row[f"cuminc_{d}_lower"], row[f"cuminc_{d}_upper"]],
              [1 - r["surv"], 1 - r["upper"], 1 - r["lower"]])
    shown = csr_first_event(summary).set_index("first event")
    assert shown.loc["Any adverse event", "median days (95 % CI)"] == "150 (45-NR)"
    assert shown.loc["Any adverse event", "with event"] == 7
    # no SAE at all: median not reached, incidence 0
    assert shown.loc["Any serious adverse event", "median days (95 % CI)"] == "NR (NR-NR)"
    assert shown.loc["Any serious adverse event", "% by day 365 (95 % CI)"].startswith("0.0")
    assert curves["ae"].n == 14 and DAYS_PER_YEAR == 365.25


def test_a_shorter_window_cuts_exposure_events_and_deaths_at_its_end():
    """A 180-day window (the study spec's safety.window_days): the marts flag only events up to day 180 (here: A's
    back pain on day 300 is outside), and the analysis cuts exposure, time to first event and deaths at day 180."""
    ae, patients = _small()
    ae["within_safety_window"] = ae["onset_day"].isna() | (ae["onset_day"] <= 180)
    patients.loc[3, "death_day"] = 170  # D dies on day 170 (inside, as B on day 100) ...
    patients.loc[3, "followup_end_day"] = 170
    patients.loc[0, "death_day"] = 250  # ... A on day 250 (outside the window, inside one year)
    py = (180 + 100 + 170) / 365.25
    assert patient_years(patients, 180) == pytest.approx(py)
    ov = safety_overview(ae, 4, patients=patients, window_days=180).set_index("category")
    assert ov.loc["Serious adverse events", "n_patients"] == 0
    assert ov.loc["Adverse events", "events_per_100py"] == pytest.approx(3 / py * 100)
    assert ov.loc["Deaths within the window", "n_patients"] == 2
    assert ov.loc["Deaths within the window", "label"] == "Deaths (any cause) up to day 180"
    no_event = time_to_first_event(ae.iloc[:0], patients, "ae", window_days=180).set_index("subject_id")
    assert no_event.loc["A"].tolist() == [180, 0]
    summary, _ = first_event_summary(ae, patients, window_days=180)
    assert summary.set_index("kind").loc["sae", "events"] == 0
    # the paper's window on the same frame counts A's death and keeps A's exposure to day 250
    assert safety_overview(ae, 4, patients=patients).set_index("category").loc[
        "Deaths within the window", "n_patients"] == 3
