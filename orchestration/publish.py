"""Publishing for analysts: after the marts are built (and their blocking checks passed), copy them into a
separate read-only snapshot (DuckDB file swapped in atomically, plus Parquet), so that an analyst's connection
never blocks a run and never sees a half-built mart."""

import dagster as dg

from als_eca.publish import publish_snapshot
from orchestration.resources import WarehouseResource


def build_snapshot_asset(mart_keys: list[dg.AssetKey], snapshot_dir: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["publish", "analyst_snapshot"],
        deps=mart_keys,
        group_name="publish",
        kinds={"duckdb", "parquet"},
        pool="duckdb_writer",
        description="The marts copied to a read-only snapshot for SQL analysts (`make sql`) and Parquet files.",
    )
    def analyst_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from pathlib import Path

        with warehouse.connect() as con:
            snapshot = publish_snapshot(con, Path(snapshot_dir))
        context.log.info(f"published {len(snapshot.tables)} marts to {snapshot.database}")
        return dg.MaterializeResult(
            metadata={
                "database": dg.MetadataValue.path(str(snapshot.database)),
                "parquet": dg.MetadataValue.path(str(snapshot.parquet_dir)),
                "tables": dg.MetadataValue.md(
                    "| table | rows |\n|---|---|\n" + "\n".join(f"| {t} | {n} |" for t, n in snapshot.tables.items())
                ),
            }
        )

    return analyst_snapshot
