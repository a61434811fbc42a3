"""The run fingerprint knows the data cut: an earlier cut (ALS_ECA_PMS_AS_OF) of the same files is another run, an
as-of date on or after the newest export is the same run as none; the as-of date reaches the run's resources."""

from __future__ import annotations

from datetime import date

import pytest

from als_eca.settings import SettingsError, get_settings
from orchestration.run_state import inputs_fingerprint, pms_cut


@pytest.fixture()
def sources(tmp_path):
    (tmp_path / "proact").mkdir()
    (tmp_path / "proact" / "PROACT_ALSFRS.csv").write_text("subject_id\r\n1\r\n")
    for export in ("pms_export_2019-12-31", "pms_export_2022-01-31"):
        (tmp_path / "pms" / export).mkdir(parents=True)
        (tmp_path / "pms" / export / "dm.csv").write_text(f"USUBJID\r\n{export}\r\n")
    return {"proact": tmp_path / "proact", "pms": tmp_path / "pms", "warehouse": tmp_path / "warehouse.duckdb"}


def test_the_fingerprint_tells_the_cuts_apart(sources, monkeypatch):
    monkeypatch.delenv("ALS_ECA_PMS_AS_OF", raising=False)
    latest = get_settings(**sources)
    earlier = get_settings(**sources, pms_as_of="2021-06-30")
    same_as_latest = get_settings(**sources, pms_as_of=date(2022, 1, 31))
    assert (pms_cut(latest), pms_cut(earlier)) == ("pms_export_2022-01-31", "pms_export_2019-12-31")
    assert inputs_fingerprint(earlier)[0] != inputs_fingerprint(latest)[0]
    assert inputs_fingerprint(same_as_latest)[0] == inputs_fingerprint(latest)[0]
    monkeypatch.setenv("ALS_ECA_PMS_AS_OF", "2021-06-30")  # the variable, as the argument
    assert get_settings(**sources).pms_as_of == date(2021, 6, 30)
    assert get_settings(**sources, pms_as_of="2022-01-31").pms_as_of == date(2022, 1, 31)  # the argument wins


def test_a_malformed_as_of_date_is_refused_naming_the_setting(sources):
    with pytest.raises(SettingsError, match="ALS_ECA_PMS_AS_OF / --pms-as-of '31.01.2022'"):
        get_settings(**sources, pms_as_of="31.01.2022")


def test_the_as_of_date_reaches_the_sources_resource(sources):
    from orchestration.definitions import build_definitions

    resources = build_definitions(get_settings(**sources, pms_as_of="2021-06-30")).resources
    assert resources["sources"].as_of == date(2021, 6, 30)
    assert build_definitions(get_settings(**sources)).resources["sources"].as_of is None
