"""Safety tables: counting (once per PT / SOC / overall), percentages over N, thresholds and MedDRA SOC order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_ref import close, load_expected

from analytics.safety import cell, event_table, exposure_days, pct, poisson_rate_ci, safety_overview


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
                within_one_year=year,
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
    assert safety_overview(_ae(), N, within_one_year_only=False).loc[0, "n_patients"] == 33


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
