"""The new-source-data sensor's change detection (the run's own content fingerprint): a new PMS export, a changed
PRO-ACT or PMS file, a touched but unchanged file, a hidden file being copied, nothing changed."""

from __future__ import annotations

import os

from orchestration.sensors import changed_sources


def test_change_detection(tmp_path):
    proact, pms = tmp_path / "proact", tmp_path / "pms"
    proact.mkdir()
    (pms / "pms_export_2019-12-31").mkdir(parents=True)
    (pms / "pms_export_2019-12-31" / "dm.csv").write_text("USUBJID\r\nA\r\n")
    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n1\r\n")

    changed, cursor = changed_sources({}, proact, pms)
    assert changed == ["raw_proact", "raw_pms"]

    assert changed_sources(cursor, proact, pms)[0] == []

    # touching a file without changing its content is not a change (checksum, not mtime)
    os.utime(proact / "PROACT_ALSFRS.csv", ns=(1, 1))
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == []

    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n2\r\n")
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == ["raw_proact"]

    new_export = pms / "pms_export_2022-01-31"
    new_export.mkdir()
    (new_export / ".dm.csv.partial").write_text("USUBJID\r\n")  # a copy in progress is not yet a source
    assert changed_sources(cursor, proact, pms)[0] == []
    (new_export / "dm.csv").write_text("USUBJID\r\nA\r\nB\r\n")
    changed, cursor = changed_sources(cursor, proact, pms)
    assert changed == ["raw_pms"]

    (pms / "pms_export_2019-12-31" / "dm.csv").write_text("USUBJID\r\nC\r\n")  # an earlier export rewritten
    assert changed_sources(cursor, proact, pms)[0] == ["raw_pms"]
