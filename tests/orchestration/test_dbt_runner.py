"""dbt in the run's own process (orchestration/dbt_runner.py), on a project of two models, one of them broken:
what was built is reported, the error is in run_results, and the warehouse is released when dbt returns."""

from __future__ import annotations

import duckdb

from orchestration.dbt_runner import _MANIFESTS, WarehouseDbtResource


def _project(root):
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0.0'\nprofile: tiny\nconfig-version: 2\nmodel-paths: [models]\n"
        "flags: {send_anonymous_usage_stats: false, partial_parse: true}\n")
    (root / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: \"{{ var('warehouse') }}\"\n"
        "      threads: 1\n")
    (root / "models" / "good.sql").write_text("select 1 as id")
    (root / "models" / "broken.sql").write_text("select no_such_column from {{ ref('good') }}")
    return root


def test_a_build_reports_what_it_built_and_the_error_and_releases_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    project = _project(tmp_path / "project")
    warehouse = tmp_path / "warehouse.duckdb"
    dbt = WarehouseDbtResource(project_dir=str(project), profiles_dir=str(project), warehouse=str(warehouse))

    invocation = dbt.invoke(["build"], name="tiny_build", run_id="0123456789")

    assert not invocation.success
    assert invocation.finished == ["model.tiny.good"]
    statuses = {r["unique_id"]: r["status"] for r in invocation.run_results()["results"]}
    assert statuses == {"model.tiny.good": "success", "model.tiny.broken": "error"}
    assert invocation.target_path.parent == project / "target"
    assert invocation.target_path.name.startswith("tiny_build-0123456-")
    # dbt-duckdb's connection is closed: this process opens the file read-only (DuckDB refuses a second
    # configuration of an open database) and read-write again.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select id from main.good").fetchall() == [(1,)]
    duckdb.connect(str(warehouse)).close()


def test_the_parsed_project_is_kept_for_the_process(tmp_path, monkeypatch):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    project = _project(tmp_path / "project")
    (project / "models" / "broken.sql").unlink()
    dbt = WarehouseDbtResource(project_dir=str(project), profiles_dir=str(project),
                               warehouse=str(tmp_path / "warehouse.duckdb"))
    first = dbt.invoke(["build"], name="tiny_build")
    cached = dict(_MANIFESTS)
    second = dbt.invoke(["build"], name="tiny_build")
    assert first.success and second.success
    assert len(cached) == 1 and dict(_MANIFESTS) == cached  # the second build parsed nothing
    # a changed project is parsed again (and replaces the kept one)
    (project / "models" / "other.sql").write_text("select 2 as id")
    third = dbt.invoke(["build"], name="tiny_build")
    assert third.success and third.finished and "model.tiny.other" in third.finished
    assert len(_MANIFESTS) == 1 and dict(_MANIFESTS) != cached


def test_a_removed_model_is_seen_as_a_change(tmp_path):
    """Removing a file changes no remaining file's time, only its folder's."""
    import time

    from orchestration.dbt_runner import newest_project_mtime

    project = _project(tmp_path / "project")
    before = newest_project_mtime(project)
    time.sleep(0.05)
    (project / "models" / "broken.sql").unlink()
    assert newest_project_mtime(project) > before
