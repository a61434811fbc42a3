"""dbt wiring: the dbt project's models and seeds as Dagster assets, built by one `dbt build` in the run's own
process (orchestration/dbt_runner.py); its tests are evaluated as asset checks in a step per model
(orchestration/dbt_checks.py).

The manifest is built by `dbt parse` when the code location loads (never at import) and reused while no file of
the dbt project has changed since.
"""


import functools
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets

from als_eca.settings import DBT_PROJECT_DIR
from als_eca.warehouse_lock import warehouse_lock
from orchestration.dbt_runner import (
    WarehouseDbtResource,
    newest_project_mtime,
    prune_run_targets,
    warehouse_vars,
)
from orchestration.resources import StudyResource, WarehouseResource


class AlsDbtTranslator(DagsterDbtTranslator):
    """Asset keys `[layer, model]` (layer = the model's schema: staging, intermediate, marts), grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return dbt_resource_props["schema"]

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.key.path[0] == "marts":  # stale marts show as such in the UI
            spec = spec.replace_attributes(freshness_policy=MARTS_FRESHNESS)
        return spec


# The daily schedule refreshes everything at 05:00 UTC: a mart older than a day and a half missed a refresh.
MARTS_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=26))
# The tests are not checks of the dbt step (a failed one would fail the step and everything after it): each
# model's tests are checks of their own step (orchestration/dbt_checks.py).
TRANSLATOR = AlsDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=False))


@functools.cache
def dbt_project(warehouse: Path) -> DbtProject:
    """The dbt project, with a manifest that is current (re-parsed only when a project file is newer)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < newest_project_mtime():
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                     str(DBT_PROJECT_DIR), "--quiet", *warehouse_vars(warehouse)])
        if not result.success:
            raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}: {result.exception}")
    return project


def build_dbt_assets(warehouse: Path) -> dg.AssetsDefinition:
    """All dbt models and seeds as one multi-asset, materialised by one `dbt build`. dbt skips what is downstream
    of a failed test; the step itself fails only when a model or seed errors (a defect of the code, not of the
    data). Each materialisation carries the table's row count and column types."""
    project = dbt_project(warehouse)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        pool="duckdb_writer",
        name="dbt_warehouse",
    )
    def dbt_warehouse(context: dg.AssetExecutionContext, dbt: WarehouseDbtResource, warehouse: WarehouseResource,
                      study: StudyResource):
        from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context

        from orchestration.dbt_checks import results_path, save_test_results, test_results

        # The models of this step's selection (all of them, or a subset such as refresh_pms's), as dagster-dbt
        # selects them for its own CLI invocations.
        selection = get_updated_cli_invocation_params_for_context(context, {}, TRANSLATOR)
        indirect = ["--indirect-selection", selection.indirect_selection] if selection.indirect_selection else []
        # dbt writes the warehouse meanwhile: it holds the run paths' shared writer lock.
        with warehouse_lock(Path(warehouse.path), on_wait=context.log.warning):
            invocation = dbt.invoke(
                ["build", *selection.selection_args, *indirect], study_vars=study.load().spec.dbt_vars(),
                name=context.op_execution_context.op.name, run_id=context.run.run_id, quiet=not _verbose(context),
                project_dir=str(selection.dbt_project.project_dir) if selection.dbt_project else None)
        run_results = invocation.run_results()
        save_test_results(test_results(run_results), results_path(warehouse.directory, context.run.run_id))
        seconds = {r["unique_id"]: r.get("execution_time") for r in run_results.get("results", [])}
        built = []
        for unique_id in invocation.finished:
            key = TRANSLATOR.get_asset_spec(project_manifest(project), unique_id, project).key
            if key in context.selected_asset_keys:
                built.append((key, dg.Output(None, output_name=key.to_python_identifier(), metadata={
                    "unique_id": unique_id, "Execution Duration": seconds.get(unique_id)})))
        yield from with_table_metadata(built, Path(warehouse.path), project_manifest(project))
        prune_run_targets(invocation.target_path.parent, invocation.target_path.name.split("-")[0])
        errors = [r for r in run_results.get("results", [])
                  if not r["unique_id"].startswith("test.") and r["status"] == "error"]
        if errors:
            raise RuntimeError("dbt could not build " + "; ".join(
                f"{r['unique_id'].split('.')[-1]}: {(r.get('message') or '').strip()}" for r in errors))

    return dbt_warehouse


def _verbose(context) -> bool:
    """dbt's line per node on the console when the run logs to the console (the UI's runs, `--verbose`), not
    under `als-eca run`'s one line per step."""
    loggers = (context.run.run_config or {}).get("loggers") or {}
    return not loggers or "console" in loggers


@functools.cache
def project_manifest(project: DbtProject) -> Mapping[str, Any]:
    """The project's manifest.json, read once per process."""
    return json.loads(Path(project.manifest_path).read_text())


def with_table_metadata(outputs: list[tuple[dg.AssetKey, dg.Output]], warehouse: Path,
                        manifest: Mapping[str, Any]) -> list[dg.Output]:
    """Each built model's row count and column types (read from the warehouse after dbt exits: the file has one
    writer) and the column descriptions of the dbt docs, as Dagster's standard table metadata."""
    import duckdb

    described = {(n["schema"], n["name"]): {c: v.get("description", "") for c, v in n.get("columns", {}).items()}
                 for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")}
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns: dict[tuple[str, str], list] = {}
        for schema, table, column, data_type in con.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns.setdefault((schema, table), []).append((column, data_type))
        for key, output in outputs:
            schema, table = key.path[0], key.path[-1]
            types = columns.get((schema, table), [])
            descriptions = described.get((schema, table), {})
            (rows,) = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            table_schema = dg.TableSchema(columns=[
                dg.TableColumn(name=c, type=ty, description=descriptions.get(c) or None) for c, ty in types])
            out.append(output.with_metadata({**output.metadata, "dagster/row_count": int(rows),
                                             "dagster/column_schema": table_schema}))
    return out


