"""dbt tests as Dagster asset checks, one check step per model: a failed test stops what depends on its model and
nothing else.

The dbt step runs `dbt build` once (dbt itself skips the models downstream of a failed test) and never fails for
a failed test: it hands the tests' results to the check steps through a file per run
(`<warehouse dir>/dbt_test_results/<run id>.json`). Each model's tests are then evaluated in their own step, so a
failed blocking test on `fct_treatment` fails that step only: Dagster skips the assets that read `fct_treatment`
(a blocking check gates its asset's downstream steps), while the other marts, their Great Expectations checks and
the analysis of the marts that passed run and show green. (With the tests as checks of the dbt step itself, as
dagster-dbt does by default, one failed test fails the whole dbt step and every step after it.)

A check step that finds no result of this run's dbt build (its checks launched on their own from the UI, or a test
dbt did not run) runs `dbt test` for its tests first: a check is never reported from an earlier run's results.
"""

import json
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from als_eca.warehouse_lock import warehouse_lock
from orchestration.dbt_runner import WarehouseDbtResource, prune_run_targets
from orchestration.resources import StudyResource, WarehouseResource

RESULTS_FOLDER = "dbt_test_results"
KEEP_RESULTS = 20
SAMPLE_ROWS = 10


def results_path(warehouse_dir: Path, run_id: str) -> Path:
    return warehouse_dir / RESULTS_FOLDER / f"{run_id}.json"


def test_results(run_results: Mapping[str, Any]) -> dict[str, dict]:
    """The tests' results of a dbt run_results.json, by test unique_id: status (pass, fail, warn, error, skipped),
    failing row count, dbt's message and the compiled SQL (which selects exactly the failing rows)."""
    return {r["unique_id"]: {"status": r["status"], "failures": r.get("failures"), "message": r.get("message"),
                             "compiled_code": r.get("compiled_code")}
            for r in run_results.get("results", []) if r["unique_id"].startswith("test.")}


def save_test_results(results: Mapping[str, dict], path: Path, keep: int = KEEP_RESULTS) -> None:
    """Write one run's test results (atomically: a check never reads half a file) and keep the newest `keep`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(results))
    os.replace(staged, path)
    runs = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        old.unlink(missing_ok=True)


def failing_rows(con, sql: str | None) -> dict[str, dg.MetadataValue]:
    """A sample of a failed test's failing rows - its compiled SQL re-run read-only - and the SQL itself (to paste
    into `make sql`). A query that errors is said, not raised: the check result is kept."""
    if not sql or con is None:
        return {}
    import duckdb

    try:
        sample = con.execute(f"SELECT * FROM ({sql}) AS failing LIMIT {SAMPLE_ROWS}").df()
        table = sample.astype(str).to_markdown(index=False) if not sample.empty else "(no rows)"
    except duckdb.Error as error:
        table = f"(failing rows could not be selected: {error})"
    return {"failing_rows_sample": dg.MetadataValue.md(table),
            "failing_rows_sql": dg.MetadataValue.md(f"```sql\n{sql.strip()}\n```")}


def check_result(spec: dg.AssetCheckSpec, unique_id: str, result: Mapping[str, Any] | None,
                 con) -> dg.AssetCheckResult:
    """One dbt test's outcome as a check result. A test dbt skipped (an upstream test failed) or that errored was
    not evaluated: it fails, with its own severity (a criterion that cannot be evaluated is not a pass)."""
    error_severity = spec.blocking  # blocking == severity error (build_dbt_checks)
    status = (result or {}).get("status", "not run")
    passed = status in ("pass", "success")
    metadata: dict[str, Any] = {"unique_id": unique_id, "dbt_status": status}
    if result and result.get("failures") is not None:
        metadata["failing_row_count"] = int(result["failures"])
    if not passed:
        metadata["dbt_message"] = (result or {}).get("message") or f"dbt test {status}"
        if status in ("fail", "warn", "error"):
            metadata.update(failing_rows(con, (result or {}).get("compiled_code")))
    return dg.AssetCheckResult(
        asset_key=spec.asset_key, check_name=spec.name, passed=passed, metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR if error_severity else dg.AssetCheckSeverity.WARN)


def describe_test(test: Mapping[str, Any]) -> str:
    """A readable description of a dbt test from its metadata (what, on which column, with which arguments, and
    its severity: `error` blocks everything downstream, `warn` reports a finding)."""
    if test.get("description"):
        return test["description"]
    meta = test.get("test_metadata") or {}
    name = meta.get("name") or test["name"]
    kwargs = {k: v for k, v in (meta.get("kwargs") or {}).items() if k not in ("model", "column_name")}
    column = test.get("column_name")
    where = (test.get("config") or {}).get("where")
    severity = str((test.get("config") or {}).get("severity", "error")).lower()
    text = f"dbt test `{name}`" + (f" on column `{column}`" if column else "")
    if kwargs:
        text += " (" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
    if where:
        text += f" where {where}"
    return text + f". Severity {severity}: " + ("a failure blocks everything downstream." if severity == "error"
                                                  else "a failure is reported as a finding.")


def _tests_by_model(manifest: Mapping[str, Any]) -> dict[str, list[tuple[str, Mapping[str, Any]]]]:
    by_model: dict[str, list] = defaultdict(list)
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "test":
            # every test of this project is attached to one model or seed (a column's or the model's own test)
            attached = node.get("attached_node") or node["depends_on"]["nodes"][-1]
            by_model[attached].append((unique_id, node))
    return by_model


def build_dbt_checks(manifest_path: Path, translator) -> list[dg.AssetChecksDefinition]:
    """One multi-asset check per dbt model (and seed) with tests: a check per test, named by the test, described
    from its metadata, blocking when its severity is error."""
    manifest = json.loads(Path(manifest_path).read_text())
    checks = []
    for model_id, tests in sorted(_tests_by_model(manifest).items()):
        model = manifest["nodes"][model_id]
        key = translator.get_asset_key(model)
        ids = {}
        specs = []
        for unique_id, test in sorted(tests, key=lambda t: t[1]["name"]):
            severity = str((test.get("config") or {}).get("severity", "error")).lower()
            spec = dg.AssetCheckSpec(name=test["name"], asset=key, blocking=severity == "error",
                                     description=describe_test(test))
            ids[spec.key] = unique_id
            specs.append(spec)
        checks.append(_model_check(model["name"], specs, ids))
    return checks


def _model_check(model: str, specs: list[dg.AssetCheckSpec],
                 ids: Mapping[dg.AssetCheckKey, str]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(specs=specs, name=f"dbt_tests_{model}", can_subset=True,
                          description=f"The dbt tests of {model}, as run by this run's dbt build.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, dbt: WarehouseDbtResource,
               study: StudyResource) -> Iterator[dg.AssetCheckResult]:
        import duckdb

        selected = [k for k in ids if k in context.selected_asset_check_keys]
        path = results_path(warehouse.directory, context.run.run_id)
        results = json.loads(path.read_text()) if path.exists() else {}
        missing = [ids[k] for k in selected if ids[k] not in results]
        if missing:
            context.log.info(f"{len(missing)} test(s) of {model} not run by a dbt build of this run: running them")
            results = {**results, **run_tests(dbt, warehouse, study, missing, context)}
        by_key = {s.key: s for s in specs}
        # The warehouse is opened only to sample failing rows: most steps have none to show.
        failing = any((results.get(ids[k]) or {}).get("status") in ("fail", "warn", "error") for k in selected)
        con = duckdb.connect(warehouse.path, read_only=True) if failing else None
        try:
            for key in selected:
                yield check_result(by_key[key], ids[key], results.get(ids[key]), con)
        finally:
            if con is not None:
                con.close()

    return _check


def run_tests(dbt: WarehouseDbtResource, warehouse: WarehouseResource, study: StudyResource, unique_ids: list[str],
              context) -> dict[str, dict]:
    """`dbt test` for the given tests on the warehouse (under the writer lock: dbt-duckdb opens it read-write)."""
    names = [unique_id.split(".")[2] for unique_id in unique_ids]
    with warehouse_lock(Path(warehouse.path), on_wait=context.log.warning):
        invocation = dbt.invoke(["test", "--select", " ".join(names)], study_vars=study.load().spec.dbt_vars(),
                                name="dbt_tests", run_id=context.run.run_id)
    prune_run_targets(invocation.target_path.parent, "dbt_tests")
    return test_results(invocation.run_results())
