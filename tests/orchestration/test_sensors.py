"""The new-source-data sensor's change detection: new PMS export, changed PRO-ACT file, nothing changed."""

from __future__ import annotations

import os

from orchestration.sensors import changed_sources


def test_change_detection(tmp_path):
    proact, pms = tmp_path / "proact", tmp_path / "pms"
    proact.mkdir()
    (pms / "pms_export_2019-12-31").mkdir(parents=True)
    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n1\r\n")

    changed, cursor = changed_sources({}, proact, pms)
    assert changed == ["raw_proact", "raw_pms"]
    assert cursor["pms_export"] == "pms_export_2019-12-31"

    assert changed_sources(cursor, proact, pms)[0] == []

    # touching a file without changing its content is not a change (checksum, not mtime)
    os.utime(proact / "PROACT_ALSFRS.csv", ns=(1, 1))
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == []

    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n2\r\n")
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == ["raw_proact"]

    (pms / "pms_export_2022-01-31").mkdir()
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == ["raw_pms"]
    assert cursor["pms_export"] == "pms_export_2022-01-31"
