"""Raw assets: one per source file (groups `raw_proact`, `raw_pms`), loaded by the ingestion library.

Two multi-assets (one per source) so that a run opens the warehouse once per source instead of once per file;
both are subsettable, so the sensor or a user can refresh a single file. Each asset carries a blocking
`rows_reconciled` check: rows read from the file = rows loaded + rows quarantined.
"""


from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from als_eca.ingest import IngestError, LoadResult, deliveries, discover_pms, discover_proact, load_source
from als_eca.ingest.manifest import read_manifest
from als_eca.ingest.schemas import PATIENT_TABLES, PMS_TABLES, PROACT_TABLES, TableSchema, by_table
from orchestration.checks import warm_up_gx
from orchestration.markdown import md_table
from orchestration.resources import SourcesResource, WarehouseResource

RAW_POOL = "duckdb_writer"


def raw_key(schema: TableSchema) -> dg.AssetKey:
    return dg.AssetKey(["raw", schema.table])


def _spec(schema: TableSchema, group: str) -> dg.AssetSpec:
    file_kind = "PRO-ACT form" if schema.source == "proact" else "PMS export domain"
    required = "required" if schema.required_file else "optional (an absent file loads an empty table)"
    return dg.AssetSpec(
        raw_key(schema),
        group_name=group,
        description=f"{schema.description} Raw copy of the {file_kind} `{schema.name}`; {required}.",
        kinds={"duckdb"},
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c.name, c.type) for c in schema.columns if c.name not in schema.identifiers]
            ),
        },
    )


def quarantined_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"{PATIENT_TABLES[source]}_quarantined"])


def _quarantined_spec(source: str, group: str) -> dg.AssetSpec:
    patient = by_table(PATIENT_TABLES[source])
    return dg.AssetSpec(
        quarantined_key(source),
        group_name=group,
        deps=[raw_key(patient)],
        description=f"Patients whose `{patient.name}` record was quarantined at load (a view over raw.quarantine). "
        "Their rows in the source's other files are held back with the reason 'patient quarantined in <file> line "
        "N'; the cohort counts them as excluded for data quality.",
        kinds={"duckdb"},
    )


DELIVERY_COMPARISON = dg.AssetKey(["raw", "pms_delivery_comparison"])


def _comparison_spec() -> dg.AssetSpec:
    return dg.AssetSpec(
        DELIVERY_COMPARISON, group_name="raw_pms", deps=[raw_key(t) for t in PMS_TABLES], kinds={"duckdb"},
        description="The newest PMS export compared with the one loaded before it: per domain, the patients and "
        "records that disappeared, changed or were added (raw.pms_delivery_comparison; every record in "
        "raw.pms_delivery_changes). Cumulative exports only grow: disappearances are a warning to look at.")


def _check_spec(schema: TableSchema) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "rows_reconciled",
        asset=raw_key(schema),
        blocking=True,
        description="Every data line of the file is either loaded or quarantined with a reason "
        "(rows read = rows loaded + rows quarantined), counted from the file and from the tables.",
    )


def _metadata(result: LoadResult, manifest: dict | None) -> dict:
    meta: dict = {
        "dagster/row_count": result.rows_loaded,
        "rows_read": result.rows_read,
        "rows_quarantined": result.rows_quarantined,
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in result.columns.items()]),
    }
    if result.path is None:
        meta["source"] = "absent (optional file): empty table"
        return meta
    meta.update(
        {
            "source_path": dg.MetadataValue.path(result.path),
            "size_bytes": result.stats.bytes,
            "sha256": result.stats.sha256,
        }
    )
    if result.quarantine_reasons:
        meta["quarantine_reasons"] = md_table(["reason", "rows"], result.quarantine_reasons.items())
    if result.warnings:
        meta["warnings"] = dg.MetadataValue.md("\n".join(f"- {w}" for w in result.warnings))
    if manifest is not None:
        entry = manifest["files"].get(result.file, {})
        meta["manifest"] = dg.MetadataValue.json(
            {
                "export_date": manifest.get("export_date"),
                "rows_declared": entry.get("rows"),
                "rows_in_file": result.rows_read,
                "sha256_matches": entry.get("sha256") == result.stats.sha256,
            }
        )
    return meta


def _reconciliation(con, result: LoadResult) -> dg.AssetCheckResult:
    """Counts taken afresh from the tables, against the line count taken from the file at load time."""
    loaded = con.execute(f"SELECT count(*) FROM raw.{result.table}").fetchone()[0]
    quarantined = con.execute(
        "SELECT count(*) FROM raw.quarantine WHERE source_table = ?", [result.table]
    ).fetchone()[0]
    audit = con.execute("SELECT rows_read FROM raw.load_audit WHERE source_table = ?", [result.table]).fetchone()
    rows_read = audit[0] if audit else None
    passed = rows_read is not None and rows_read == loaded + quarantined
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(["raw", result.table]),
        check_name="rows_reconciled",
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"rows_read": rows_read, "rows_loaded": loaded, "rows_quarantined": quarantined,
                  "unaccounted": (rows_read - loaded - quarantined) if rows_read is not None else None},
    )


def _load_selected(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: list, manifest: dict | None,
    export: str | None = None,
) -> Iterator:
    """Load the selected files; for a PMS export (`export`: its folder name) also compare it with the previous."""
    selected = context.selected_asset_keys
    todo = [s for s in sources if raw_key(s.schema) in selected]
    compare_deliveries = export is not None and DELIVERY_COMPARISON in selected
    with warehouse.connect() as con:
        if compare_deliveries:
            deliveries.keep_previous(con, export)
        for i, source in enumerate(todo, 1):
            kind = "required" if source.schema.required_file else "optional"
            context.log.info(f"[{i}/{len(todo)}] loading {source.path or f'{source.expected} (absent, {kind})'}")
            try:
                result = load_source(con, source)
            except IngestError as exc:
                raise dg.Failure(
                    description=str(exc),
                    metadata={"file": exc.file, "line": exc.line, "column": exc.column, "reason": exc.reason},
                ) from None
            for warning in result.warnings:
                context.log.warning(warning)
            yield dg.MaterializeResult(asset_key=raw_key(source.schema), metadata=_metadata(result, manifest))
            yield _reconciliation(con, result)
        if compare_deliveries:
            yield from _delivery_results(con, export)
        source_name = sources[0].schema.source if sources else None
        if source_name and quarantined_key(source_name) in selected:
            key = quarantined_key(source_name)
            rows = con.execute(f"SELECT subject_id, file, line, reasons FROM raw.{key.path[-1]} ORDER BY line").fetchall()
            held = con.execute("SELECT count(*) FROM raw.quarantine WHERE reason LIKE 'patient quarantined in %' "
                               "AND source_table LIKE ?", [source_name + "_%"]).fetchone()[0]
            yield dg.MaterializeResult(asset_key=key, metadata={
                "dagster/row_count": len(rows), "rows_held_back": held,
                "patients": md_table(["patient", "file", "line", "reasons"], rows)})


def _delivery_results(con, export: str) -> Iterator:
    previous, counts = deliveries.compare(con, export)
    yield dg.MaterializeResult(asset_key=DELIVERY_COMPARISON, metadata={
        "previous_export": previous or "none (first delivery loaded)", "current_export": export,
        "changes": md_table(["domain", "change", "patients", "records"], counts, empty="no change")})
    gone = con.execute("""SELECT domain, subject_id, seq FROM raw.pms_delivery_changes
                          WHERE change = 'disappeared' ORDER BY domain, subject_id, seq""").fetchall()
    yield dg.AssetCheckResult(
        asset_key=DELIVERY_COMPARISON, check_name="no_records_disappeared", passed=not gone,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"disappeared_records": len(gone),
                  "disappeared": md_table(["domain", "patient", "seq"], gone, max_rows=100)})


def _discovery_failure(exc: Exception) -> dg.Failure:
    return dg.Failure(description=str(exc))


@dg.multi_asset(
    name="raw_proact",
    specs=[*(_spec(t, "raw_proact") for t in PROACT_TABLES), _quarantined_spec("proact", "raw_proact")],
    check_specs=[_check_spec(t) for t in PROACT_TABLES],
    can_subset=True,
    pool=RAW_POOL,
)
def raw_proact(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource):
    warm_up_gx()  # the raw tables' suites run next
    try:
        found = discover_proact(Path(sources.proact_dir))
    except Exception as exc:  # DiscoveryError: a folder that does not exist or is ambiguous
        raise _discovery_failure(exc) from None
    yield from _load_selected(context, warehouse, found, None)


@dg.multi_asset(
    name="raw_pms",
    specs=[*(_spec(t, "raw_pms") for t in PMS_TABLES), _quarantined_spec("pms", "raw_pms"), _comparison_spec()],
    check_specs=[*(_check_spec(t) for t in PMS_TABLES),
                 dg.AssetCheckSpec("no_records_disappeared", asset=DELIVERY_COMPARISON,
                                   description="No patient or record of the previously loaded export is missing from "
                                   "the new one (cumulative exports only grow); the disappeared ones are listed.")],
    can_subset=True,
    pool=RAW_POOL,
)
def raw_pms(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sources: SourcesResource):
    warm_up_gx()  # the raw tables' suites run next
    try:
        found = discover_pms(Path(sources.pms_dir), sources.as_of)
        export = next((s.path.parent for s in found if s.path is not None), None)
        if export is None:
            raise IngestError(sources.pms_dir, "the newest PMS export holds none of the expected domain files")
        manifest = read_manifest(export)
    except IngestError as exc:
        raise dg.Failure(description=str(exc), metadata={"file": exc.file}) from None
    except Exception as exc:
        raise _discovery_failure(exc) from None
    context.log.info(f"PMS export {export.name} (manifest export_date {manifest.get('export_date')})")
    yield from _load_selected(context, warehouse, found, manifest, export=export.name)


raw_assets = [raw_proact, raw_pms]
