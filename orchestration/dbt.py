"""dbt wiring: the dbt project's models and seeds as Dagster assets, built by one `dbt build` (its tests are
evaluated as asset checks in a step per model: orchestration/dbt_checks.py).

The manifest is built by `dbt parse` when the code location loads (never at import) and reused while no file of
the dbt project has changed since.
"""


import functools
import importlib.metadata
import json
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from als_eca.settings import DBT_PROJECT_DIR
from als_eca.warehouse_lock import warehouse_lock
from orchestration.resources import StudyResource, WarehouseResource

_PROJECT_FILES = ("*.yml", "models/**/*", "macros/**/*", "seeds/**/*", "tests/**/*")


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


def _newest_project_mtime() -> float:
    paths = (p for pattern in _PROJECT_FILES for p in DBT_PROJECT_DIR.glob(pattern) if p.is_file())
    return max((p.stat().st_mtime for p in paths), default=0.0)


def warehouse_vars(warehouse: Path, extra: dict | None = None) -> list[str]:
    """The dbt arguments that point the profile at `warehouse` (profiles.yml reads `var('warehouse')`), with the
    study's vars (`extra`: cohort rules from the study spec)."""
    return ["--vars", json.dumps({**(extra or {}), "warehouse": str(warehouse)})]


@functools.cache
def dbt_project(warehouse: Path) -> DbtProject:
    """The dbt project, with a manifest that is current (re-parsed only when a project file is newer)."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_project_mtime():
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
    def dbt_warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource,
                      study: StudyResource):
        from orchestration.analysis import warm_up
        from orchestration.dbt_checks import results_path, save_test_results, test_results

        warm_up()  # the analysis steps' imports, on the core dbt leaves idle
        built: list[tuple[dg.AssetKey, dg.Output]] = []
        # Its own target folder (concurrent runs never mix). dbt writes the warehouse in its own process: it holds
        # the run paths' shared writer lock meanwhile.
        with warehouse_lock(Path(warehouse.path), on_wait=context.log.warning):
            invocation = dbt.cli(["build"], context=context, raise_on_error=False,
                                 study_vars=study.load().spec.dbt_vars())
            for event in invocation.stream():
                if isinstance(event, dg.Output):
                    # reported once dbt has let go of the file, with row counts and column types
                    built.append((context.asset_key_for_output(event.output_name), event))
                # (test results arrive as observations: the check steps report them, from the file saved below)
            invocation.wait()
        if not (invocation.target_path / "run_results.json").exists():
            raise invocation.get_error() or RuntimeError("dbt wrote no run_results.json")  # it never started
        run_results = invocation.get_artifact("run_results.json")
        save_test_results(test_results(run_results), results_path(warehouse.directory, context.run.run_id))
        yield from with_table_metadata(built, Path(warehouse.path), project.manifest_path)
        keep_partial_parse(invocation.target_path, list(invocation.process.args))
        prune_run_targets(invocation.target_path.parent, invocation.target_path.name.split("-")[0])
        errors = [r for r in run_results.get("results", [])
                  if not r["unique_id"].startswith("test.") and r["status"] == "error"]
        if errors:
            raise RuntimeError("dbt could not build " + "; ".join(
                f"{r['unique_id'].split('.')[-1]}: {(r.get('message') or '').strip()}" for r in errors))

    return dbt_warehouse


def with_table_metadata(outputs: list[tuple[dg.AssetKey, dg.Output]], warehouse: Path,
                        manifest_path: Path) -> list[dg.Output]:
    """Each built model's row count and column types (read from the warehouse after dbt exits: the file has one
    writer) and the column descriptions of the dbt docs, as Dagster's standard table metadata."""
    import duckdb

    manifest = json.loads(Path(manifest_path).read_text())
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


PARSE_STATES = "parse_state"  # under dbt's target folder: one saved parse state per profile and vars


def parse_state_path(target_root: Path, dbt_args: list[str]) -> Path:
    """Where the parse state for these dbt vars is kept. dbt re-parses the whole project when its vars or
    profile differ from the saved state's (benchmarks/results.md: "first run, new path" against "cold"), and both hold the warehouse path: one state per vars (the
    warehouse and the study's rules) lets every warehouse, and a rebuild of it from nothing, parse only what
    changed in the code since its own last run."""
    import hashlib

    cli_vars = dbt_args[dbt_args.index("--vars") + 1] if "--vars" in dbt_args else "{}"
    key = hashlib.sha256(json.dumps(json.loads(cli_vars), sort_keys=True).encode()).hexdigest()[:16]
    return target_root / PARSE_STATES / f"{key}.msgpack"


def seed_parse_state(run_target: Path, dbt_args: list[str]) -> None:
    """Start this invocation from the parse state saved for its vars (dagster-dbt copies the project's own
    `partial_parse.msgpack`, written by `dbt_project`'s parse, only when the run's folder has none)."""
    import shutil

    state = parse_state_path(run_target.parent, dbt_args)
    if state.exists() and not (run_target / "partial_parse.msgpack").exists():
        run_target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state, run_target / "partial_parse.msgpack")


def keep_partial_parse(run_target: Path, dbt_args: list[str], keep: int = 20) -> None:
    """Save this run's parse state for its vars (seed_parse_state). Atomic: a concurrent run reads the old state
    or the new. The least recently written states beyond `keep` go."""
    import shutil

    state = run_target / "partial_parse.msgpack"
    if not state.exists():
        return
    destination = parse_state_path(run_target.parent, dbt_args)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staged = destination.parent / f".{destination.name}.{run_target.name}"
    shutil.copyfile(state, staged)
    os.replace(staged, destination)
    saved = sorted((run_target.parent / PARSE_STATES).glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in saved[keep:]:
        old.unlink(missing_ok=True)


def prune_run_targets(folder: Path, prefix: str, keep: int = 5) -> None:
    """dagster-dbt writes each run's artifacts to a new ~12 MB folder `<prefix>-<run>-<hash>`: keep the newest few
    (a running invocation's folder is among the newest), so the disk does not fill one run at a time."""
    import shutil

    runs = sorted((p for p in folder.glob(f"{prefix}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


class WarehouseDbtResource(DbtCliResource):
    """dbt on one warehouse: every invocation passes the warehouse path to the profile as a dbt var (set where the
    resource is built, never through the environment) and starts from the parse state saved for its vars.
    dbt-core's version is read from the package metadata instead of running `dbt --version` (a 3 s subprocess,
    paid by every run)."""

    warehouse: str

    def cli(self, args, study_vars: dict | None = None, target_path: Path | None = None, **kwargs):
        dbt_args = [*args, *warehouse_vars(Path(self.warehouse), study_vars)]
        target = Path(target_path or self._get_unique_target_path(context=kwargs.get("context")))
        target = target if target.is_absolute() else Path(self.project_dir) / target
        seed_parse_state(target, dbt_args)
        return super().cli(dbt_args, target_path=target, **kwargs)

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        """No dbt adapter in this process: dagster-dbt builds one (loading dbt-core, the profile, the project
        and every macro: ~1 s of a scale-1 run, measured end to end) only for `fetch_column_metadata` / `fetch_row_counts`, which
        these assets do not use (with_table_metadata reads both from the warehouse after dbt exits)."""
        return None


# dbt started through a guard that stops it when the run's process dies (an orphaned dbt would hold the
# warehouse's lock): orchestration/bin/dbt-guarded.
DBT_GUARD = Path(__file__).resolve().parent / "bin" / "dbt-guarded"


def dbt_resource(warehouse: Path) -> DbtCliResource:
    # The dbt installed next to this interpreter, whether or not its folder is on PATH (the guard finds it there).
    local = Path(sys.executable).parent / "dbt"
    guarded = local.exists() and local.resolve().parent == (DBT_GUARD.parents[2] / ".venv" / "bin").resolve()
    executable = str(DBT_GUARD) if guarded else str(local) if local.exists() else "dbt"
    return WarehouseDbtResource(project_dir=dbt_project(warehouse), profiles_dir=str(DBT_PROJECT_DIR),
                                dbt_executable=executable, warehouse=str(warehouse))
