"""Publishing for analysts: after the marts are built (and their blocking checks passed), copy them into a
separate read-only snapshot (DuckDB file swapped in atomically, plus Parquet), so that an analyst's connection
never blocks a run and never sees a half-built mart."""

import dagster as dg

from als_eca import privacy
from als_eca.publish import publish_snapshot
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


def build_snapshot_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=["publish", "analyst_snapshot"],
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb", "parquet"},
        pool="duckdb_writer",
        description="The marts copied to a read-only snapshot for SQL analysts (`make sql`) and Parquet files.",
    )
    def analyst_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            snapshot = publish_snapshot(con, warehouse.snapshot)
        context.log.info(f"published {len(snapshot.tables)} marts to {snapshot.database}")
        return dg.MaterializeResult(
            metadata={
                "database": dg.MetadataValue.path(str(snapshot.database)),
                "parquet": dg.MetadataValue.path(str(snapshot.parquet_dir)),
                "tables": md_table(["table", "rows"], snapshot.tables.items()),
            }
        )

    return analyst_snapshot
