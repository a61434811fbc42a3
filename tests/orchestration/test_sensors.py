"""The new-source-data sensor's change detection (the run's own content fingerprint): a new PMS export, a changed
PRO-ACT or PMS file, a touched but unchanged file, a hidden file being copied, nothing changed."""

from __future__ import annotations

import os

from orchestration.sensors import changed_sources


def _sources(tmp_path):
    """A PRO-ACT folder with one file and a PMS folder with one export."""
    proact, pms = tmp_path / "proact", tmp_path / "pms"
    proact.mkdir()
    (pms / "pms_export_2019-12-31").mkdir(parents=True)
    (pms / "pms_export_2019-12-31" / "dm.csv").write_text("USUBJID\r\nA\r\n")
    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n1\r\n")
    return proact, pms


def test_change_detection(tmp_path):
    proact, pms = _sources(tmp_path)

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


def test_a_new_pms_export_launches_refresh_pms_and_a_proact_change_refresh_all(tmp_path):
    import dagster as dg

    from orchestration.resources import SourcesResource, WarehouseResource
    from orchestration.sensors import new_source_data

    proact, pms = _sources(tmp_path)
    resources = {"sources": SourcesResource(proact_dir=str(proact), pms_dir=str(pms)),
                 "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))}

    def evaluate(cursor):
        context = dg.build_sensor_context(resources=resources, cursor=cursor)
        return list(new_source_data(context)), context.cursor

    (first,), cursor = evaluate(None)  # no warehouse yet: everything is news
    assert first.job_name == "refresh_all"
    new_export = pms / "pms_export_2022-01-31"
    new_export.mkdir()
    (new_export / "dm.csv").write_text("USUBJID\r\nA\r\nB\r\n")
    (request,), cursor = evaluate(cursor)
    assert request.job_name == "refresh_pms" and request.tags["trigger"] == "raw_pms"
    (proact / "PROACT_ALSFRS.csv").write_text("subject_id\r\n2\r\n")
    (request,), cursor = evaluate(cursor)
    assert request.job_name == "refresh_all"
    (skip,), _ = evaluate(cursor)
    assert isinstance(skip, dg.SkipReason)


def test_refresh_pms_leaves_proact_raw_and_staging_out():
    from orchestration.definitions import build_definitions

    definitions = build_definitions()
    everything = definitions.resolve_job_def("refresh_all").asset_layer.selected_asset_keys
    selected = definitions.resolve_job_def("refresh_pms").asset_layer.selected_asset_keys
    names = {k.to_user_string() for k in selected}
    assert not [n for n in names if n.startswith(("raw/proact", "staging/stg_proact"))], names
    assert {"raw/pms_dm", "staging/stg_pms__dm", "marts/dim_patient", "analysis/study_report",
            "publish/analyst_snapshot"} <= names
    assert len(selected) < len(everything)
