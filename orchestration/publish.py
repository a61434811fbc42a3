"""Publishing for analysts: after the marts are built (and their blocking checks passed) and the analysis has
run, copy the marts, the analysis results and the run's provenance into a separate read-only snapshot (DuckDB
file swapped in atomically, plus Parquet), so that an analyst's connection never blocks a run and never sees a
half-built mart."""

import dagster as dg

from als_eca import privacy
from als_eca.publish import StepTables, publish_snapshot
from als_eca.study.store import StepOutput
from orchestration.analysis import STUDY_STEPS
from orchestration.markdown import md_table
from orchestration.resources import WarehouseResource


def _privacy_result(findings: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not findings,
        metadata={"findings": md_table(["table", "column", "what"], [(f.table, f.column, f.what) for f in findings])})


def build_identifier_checks(mart_keys: list[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """The identifier scan (als_eca/privacy.py) as blocking checks: on every mart, and on the analysts' snapshot.
    A PMS direct identifier (initials, record number, exact birth date, an original USUBJID) fails the check."""
    description = ("No PMS direct identifier: no identifier-named column, no value shaped like an original PMS "
                   "subject id (only keyed pseudonyms and birth years may reach an analyst).")
    def mart_check(key: dg.AssetKey) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=key, name="no_direct_identifiers", blocking=True, description=description)
        def _mart(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            with warehouse.connect(read_only=True) as con:
                return _privacy_result(privacy.scan(con, only=("marts", key.path[-1])))

        return _mart

    checks = [mart_check(key) for key in mart_keys]

    @dg.asset_check(asset=dg.AssetKey(["publish", "analyst_snapshot"]), name="no_direct_identifiers",
                    blocking=True, description=description)
    def _snapshot(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        import duckdb

        with duckdb.connect(str(warehouse.snapshot / "snapshot.duckdb"), read_only=True) as con:
            return _privacy_result(privacy.scan(con))

    return [*checks, _snapshot]


def step_tables(out: StepOutput) -> StepTables:
    """What the snapshot shows of a step's output: its tables when it made an estimate, else why not."""
    if not out.not_estimable:
        return StepTables("estimated", out.tables)
    return StepTables("not requested" if not out.requested else "not estimable", reason=out.not_estimable)


# The steps whose outputs the snapshot reads (the provenance's record, every other's tables), loaded by the
# analysis IO manager: the lineage shows the snapshot after the analysis.
_SNAPSHOT_INS = {step: dg.AssetIn(key=dg.AssetKey(["analysis", step])) for step in STUDY_STEPS}


def build_snapshot_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=["publish", "analyst_snapshot"],
        deps=mart_keys,
        ins=_SNAPSHOT_INS,
        group_name="publish",
        kinds={"duckdb", "parquet"},
        pool="duckdb_writer",
        description="A read-only snapshot for SQL analysts (`make sql`), also as Parquet files: the marts with "
                    "their dbt descriptions as comments (and views in `main`, so unqualified names work), the "
                    "analysis results as tables in schema `analysis`, and what built it (`snapshot_info`, "
                    "`snapshot_inputs`).",
    )
    def analyst_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                         **outputs: StepOutput) -> dg.MaterializeResult:
        provenance = outputs.pop("provenance")
        steps = {step: step_tables(out) for step, out in outputs.items()}
        with warehouse.connect() as con:
            snapshot = publish_snapshot(con, warehouse.snapshot, steps=steps, provenance=provenance.numbers,
                                        run_id=context.run.run_id)
        context.log.info(f"published {len(snapshot.tables)} marts and {len(snapshot.analysis)} analysis tables "
                         f"to {snapshot.database}")
        absent = [(step, s.status, s.reason) for step, s in steps.items() if s.status != "estimated"]
        return dg.MaterializeResult(
            metadata={
                "database": dg.MetadataValue.path(str(snapshot.database)),
                "parquet": dg.MetadataValue.path(str(snapshot.parquet_dir)),
                "tables": md_table(["table", "rows"], snapshot.tables.items()),
                "analysis_tables": md_table(["table", "rows"], snapshot.analysis.items()),
                "steps_without_tables": md_table(["step", "status", "reason"], absent),
            }
        )

    return analyst_snapshot
