"""dbt invoked in this process (dbt's `dbtRunner`) on one warehouse: the resource the dbt step and the dbt check
steps share, the run folders, and the parse state kept per dbt vars."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from als_eca.settings import DBT_PROJECT_DIR

# The project's own files and folders (a folder's time changes when a file in it is added, removed or renamed).
_PROJECT_FILES = ("*.yml", "models", "models/**/*", "macros", "macros/**/*", "seeds", "seeds/**/*", "tests",
                  "tests/**/*")


def newest_project_mtime(project_dir: Path = DBT_PROJECT_DIR) -> float:
    """When the dbt project last changed: a file edited, added or removed."""
    paths = (p for pattern in _PROJECT_FILES for p in Path(project_dir).glob(pattern))
    return max((p.stat().st_mtime for p in paths), default=0.0)


def warehouse_vars(warehouse: Path, extra: dict | None = None) -> list[str]:
    """The dbt arguments that point the profile at `warehouse` (profiles.yml reads `var('warehouse')`), with the
    study's vars (`extra`: cohort rules from the study spec)."""
    return ["--vars", json.dumps({**(extra or {}), "warehouse": str(warehouse)})]


PARSE_STATES = "parse_state"  # under dbt's target folder: one saved parse state per profile and vars


def parse_state_path(target_root: Path, dbt_args: list[str]) -> Path:
    """Where the parse state for these dbt vars is kept. dbt re-parses the whole project when its vars or
    profile differ from the saved state's (benchmarks/results.md: "first run, new path" against "cold"), and both
    hold the warehouse path: one state per vars (the warehouse and the study's rules) lets every warehouse, and a
    rebuild of it from nothing, parse only what changed in the code since its own last run."""
    import hashlib

    cli_vars = dbt_args[dbt_args.index("--vars") + 1] if "--vars" in dbt_args else "{}"
    key = hashlib.sha256(json.dumps(json.loads(cli_vars), sort_keys=True).encode()).hexdigest()[:16]
    return target_root / PARSE_STATES / f"{key}.msgpack"


def seed_parse_state(run_target: Path, dbt_args: list[str]) -> None:
    """Start this invocation from the parse state saved for its vars (none saved yet: dbt parses in full, as it
    would from any state saved for other vars)."""
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
    """Each dbt invocation writes its artifacts to a new ~5 MB folder `<prefix>-<run>-<hash>`: keep the newest few
    (a running invocation's folder is among the newest), so the disk does not fill one run at a time."""
    import shutil

    runs = sorted((p for p in folder.glob(f"{prefix}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class DbtInvocation:
    """One finished in-process dbt invocation: where its artifacts are, whether dbt completed, and its results."""

    target_path: Path
    success: bool  # False when a node failed or dbt itself could not run
    exception: BaseException | None  # dbt could not run at all (a broken project, profile or warehouse)
    finished: list[str]  # unique ids of the models and seeds built, in the order dbt finished them

    def run_results(self) -> dict:
        path = self.target_path / "run_results.json"
        if not path.exists():  # dbt never started a node
            raise RuntimeError(f"dbt wrote no run_results.json: {self.exception or 'no error reported'}")
        return json.loads(path.read_text())


# Parsed manifests kept for this process, by project state and dbt vars: a process that runs dbt more than once
# (a simulation worker, one seed after another) parses the project once, not once per invocation (~0.9 s).
_MANIFESTS: dict[tuple, Any] = {}


class WarehouseDbtResource(dg.ConfigurableResource):
    """dbt on one warehouse, invoked in this process through dbt's programmatic entry point (`dbtRunner`).

    Why in-process: as a child process (dagster-dbt's `DbtCliResource`), every invocation paid a Python start and
    dbt's imports (~1.7 s; this process has most of them already) and serialised every dbt event as a JSON line
    for this process to parse back, and an orphaned child could hold DuckDB's lock after its run died (it needed
    a guard process). In-process, dbt ends with its run, its events arrive as objects, and the parsed project is
    reused. Every invocation passes the warehouse path to the profile as a dbt var (never through the
    environment), writes its artifacts to a target folder of its own and starts from the parse state saved for
    its vars. dbt-duckdb's connection to the warehouse is closed when the invocation returns."""

    project_dir: str
    profiles_dir: str
    warehouse: str

    def invoke(self, args: list[str], *, study_vars: dict | None = None, name: str = "dbt", run_id: str = "",
               quiet: bool = True, project_dir: str | None = None) -> DbtInvocation:
        """`dbt <args>` (a command and its selection) on the warehouse, in this process."""
        import uuid

        from dbt.cli.main import dbtRunner

        command = [*args, *warehouse_vars(Path(self.warehouse), study_vars)]
        target = target_root(Path(self.project_dir)) / f"{name}-{run_id[:7] or 'adhoc'}-{uuid.uuid4().hex[:7]}"
        seed_parse_state(target, command)
        flags = ["--project-dir", project_dir or self.project_dir, "--profiles-dir", self.profiles_dir,
                 "--target-path", str(target), "--log-path", str(target), "--no-send-anonymous-usage-stats",
                 *(["--quiet"] if quiet else [])]
        finished: list[str] = []

        def on_event(event) -> None:
            if event.info.name == "NodeFinished":
                node = event.data.node_info
                if node.resource_type in ("model", "seed") and node.node_status == "success":
                    finished.append(node.unique_id)

        # A temporary copy of the project (dagster-dbt's, for a very large selection) is parsed by dbt itself.
        own_project = project_dir is None or Path(project_dir) == Path(self.project_dir)
        manifest = self._manifest(command, flags) if own_project else None
        try:
            # dbt.log at info: a line per node and every warning and error, not every SQL statement and debug
            # event (formatting those took ~0.5-1 s of a ~5.5 s scale-1 build).
            result = dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(
                [*command, *flags, "--log-level-file", "info"])
        finally:
            _close_dbt_connections()
        keep_partial_parse(target, command)
        return DbtInvocation(target, result.success, result.exception, finished)

    def _manifest(self, command: list[str], flags: list[str]):
        """The project parsed for these vars (cached per process while no project file changes); None when dbt
        cannot parse it (the invocation itself then reports why)."""
        from dbt.cli.main import dbtRunner

        vars_ = command[command.index("--vars") + 1]
        key = (self.project_dir, self.profiles_dir, vars_, newest_project_mtime(Path(self.project_dir)))
        if key not in _MANIFESTS:
            # --no-write-json: the parse state (partial_parse.msgpack) is written, not the 1.6 MB manifest.json
            # and the semantic manifest, which nothing reads here (~0.2-0.7 s).
            parsed = dbtRunner().invoke(["parse", "--vars", vars_, *flags, "--quiet", "--no-write-json"])
            _close_dbt_connections()
            if not parsed.success:
                return None
            _MANIFESTS.clear()  # one project state at a time: an older one is never used again
            _MANIFESTS[key] = parsed.result
        return _MANIFESTS[key]


def target_root(project_dir: Path) -> Path:
    """Where dbt's run folders go: DBT_TARGET_PATH (a simulation worker's own folder) or the project's target/."""
    configured = os.environ.get("DBT_TARGET_PATH")
    return Path(configured).resolve() if configured else project_dir / "target"


def _close_dbt_connections() -> None:
    """Release the warehouse: dbt-duckdb keeps its DuckDB database open in a class attribute for the process's
    life, which would hold the file after dbt returns (this process opens it next, read-only or read-write)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager.close_all_connections()


def dbt_resource(warehouse: Path) -> WarehouseDbtResource:
    return WarehouseDbtResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                warehouse=str(warehouse))
