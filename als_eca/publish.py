"""Publish the marts as a read-only snapshot for analysts: a separate DuckDB file swapped in atomically, plus
Parquet files.

An analyst's open connection holds the previous snapshot file (on POSIX the replaced inode stays readable), so a
pipeline run never waits for an analyst and an analyst never sees a half-built mart.

What the snapshot holds, so that it can be opened without the project at hand:
- `marts.<table>`: every mart, with its dbt descriptions as DuckDB comments on the table and on every column;
- `main.<table>`: a view of each mart, so `select * from dim_patient` works in any client (its default schema);
- `analysis.<table>`: the analysis results as tables (`ANALYSIS_TABLES`: matched pairs, cohort flow, KM summary,
  Cox terms, diagnostics, safety tables, ...), each commented with what it is and which step made it, and
  `analysis.steps`: every step's status (a step the study did not ask for has no tables, and says so);
- `main.snapshot_info` (one row: when, which run, code and study spec, the PMS export) and
  `main.snapshot_inputs` (every source file with its sha256): what built it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

#: The snapshot's storage format: the oldest that holds everything in it (tables, views, comments), so analysts'
#: own clients of DuckDB >= 1.0 open it too. (The warehouse is written in the library's default format, which
#: the pinned `duckdb` CLI reads.) Raise it only when the snapshot needs a newer format's feature.
STORAGE_VERSION = "v1.0.0"
ANALYSIS_SCHEMA = "analysis"


@dataclass(frozen=True)
class AnalysisTable:
    """A table of an analysis step's output, as published in the snapshot (`analysis.<name>`)."""

    name: str  # in the snapshot
    step: str  # the analysis step that made it (Dagster asset analysis/<step>)
    part: str  # its name in the step's output (<warehouse dir>/analysis/<part>.parquet)
    description: str


ANALYSIS_TABLES: tuple[AnalysisTable, ...] = (
    AnalysisTable("cohort_flow", "cohort_flow", "cohort_flow",
                  "Figure 1 under the replication's rules: per source, all patients, each exclusion in the "
                  "paper's order, eligible."),
    AnalysisTable("aligned_cohort_flow", "aligned_analysis", "aligned_cohort_flow",
                  "The cohort flow under the aligned analysis' rules (time zero at the landmark)."),
    AnalysisTable("propensity_coefficients", "propensity_scores", "propensity_coefficients",
                  "The propensity-score model (logistic regression as R glm): estimate, SE, z and p per term."),
    AnalysisTable("propensity_scores", "propensity_scores", "propensity_scores",
                  "Every eligible patient's propensity score (subject_id is the marts' pseudonymous id)."),
    AnalysisTable("matched_pairs", "matched_cohort", "matched_pairs",
                  "The matched pairs of the replication: treated_id (PMS pseudonym) and control_id (PRO-ACT "
                  "subject), the matching pass and the PS distance; join to marts.dim_patient on subject_id."),
    AnalysisTable("matched_cohort", "matched_cohort", "matched_cohort",
                  "The matched set's rows: the analysis cohort's columns plus the pair number and the score."),
    AnalysisTable("diagnostics", "matched_cohort", "diagnostics",
                  "The replication's design diagnostics: value, threshold, verdict (pass / FAIL / not "
                  "evaluated) and what was found."),
    AnalysisTable("aligned_matched_pairs", "aligned_analysis", "aligned_matched_pairs",
                  "The matched pairs of the aligned analysis (treated_id, control_id, pass, distance)."),
    AnalysisTable("aligned_diagnostics", "aligned_analysis", "aligned_diagnostics",
                  "The aligned analysis' design diagnostics with their verdicts."),
    AnalysisTable("smd", "balance", "smd",
                  "Standardised mean differences per PS covariate before and after matching (MatchIt's "
                  "definition; the paper's criterion is |SMD| < 0.1)."),
    AnalysisTable("table1", "balance", "table1",
                  "Table 1 as the report prints it: each characteristic per arm with p and SMD, before and "
                  "after matching."),
    AnalysisTable("table1_before", "balance", "table1_before",
                  "Table 1 before matching, every level with its test (t or chi-square), statistic and p."),
    AnalysisTable("table1_matched", "balance", "table1_matched",
                  "Table 1 of the matched set, every level with its test (t or chi-square), statistic and p."),
    AnalysisTable("km_summary", "survival", "km_summary",
                  "Kaplan-Meier summary of the matched set per arm and injection group: n, deaths, median "
                  "survival in days with its 95 % CI (null: not reached), survival at the study spec's survival_times_days."),
    AnalysisTable("rmst", "survival", "rmst",
                  "Restricted mean survival time per arm at the horizon tau (days) with its SE."),
    AnalysisTable("pairwise_logrank", "survival", "pairwise_logrank",
                  "Pairwise log-rank tests between the injection groups and control."),
    AnalysisTable("cox_terms", "cox_model", "cox",
                  "The Cox model (Efron) of the matched set: coefficient, HR with its 95 % CI, z and p per "
                  "term (model-based variance)."),
    AnalysisTable("cox_terms_robust", "cox_model", "cox_robust",
                  "The same Cox model with pair-clustered (robust) variance."),
    AnalysisTable("cox_ph_test", "cox_model", "cox_zph",
                  "Proportional-hazards test per term and GLOBAL (Schoenfeld residuals, as R cox.zph)."),
    AnalysisTable("progression_comparisons", "progression", "comparisons",
                  "Progression speed and ALSFRS-R change compared between arms and injection groups (t tests)."),
    AnalysisTable("alsfrs_change", "progression", "alsfrs_change",
                  "Each matched patient's ALSFRS-R change from baseline to 12 months."),
    AnalysisTable("cafs", "progression", "cafs",
                  "CAFS (survival first, then the ALSFRS-R change): Finkelstein-Schoenfeld test and win ratio."),
    AnalysisTable("korean_subgroup_km", "progression", "korean",
                  "Kaplan-Meier summary of the matched treated patients, Korean vs non-Korean."),
    AnalysisTable("sensitivity", "sensitivity", "sensitivity",
                  "The sensitivity analyses: pairs, deaths, log-rank p, RMST and HRs per variant."),
    AnalysisTable("falsification", "falsification", "falsification",
                  "Known-null falsification: active arms vs placebo and placebo halves; each HR with its CI "
                  "and whether it covers 1."),
    AnalysisTable("safety_overview", "safety_tables", "safety_overview",
                  "Safety overview over the first year after the first injection (PMS): patients, %, events "
                  "and rates per 100 patient-years per category."),
    AnalysisTable("ae_table", "safety_tables", "ae_table",
                  "Adverse events (PTs in >= 5 % of patients) by SOC then PT: n (%), events, rates."),
    AnalysisTable("adr_table", "safety_tables", "adr_table",
                  "Adverse drug reactions by SOC then PT: n (%), events, rates."),
    AnalysisTable("sae_table", "safety_tables", "sae_table",
                  "Serious adverse events (PTs in >= 1 % of patients) by SOC then PT: n (%), events, rates."),
    AnalysisTable("safety_first_event", "safety_tables", "first_event",
                  "Time to the first AE and the first SAE: median and cumulative incidence at 30-365 days."),
)
#: Tables of the step outputs the snapshot leaves out, and why (every other one must be in ANALYSIS_TABLES).
NOT_PUBLISHED: dict[tuple[str, str], str] = {
    ("cohort_flow", "cohort"): "the analysis cohort is marts.mart_survival_cohort itself",
    ("matched_cohort", "matched_scores"): "the scores of analysis.propensity_scores (a blocking check holds them "
                                          "equal); analysis.matched_cohort has the matched ones",
}


@dataclass(frozen=True)
class StepTables:
    """One analysis step's outcome as the snapshot shows it: `status` is "estimated", "not estimable" or "not
    requested" (by the study spec); only an estimated step's tables are published."""

    status: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    reason: str | None = None


@dataclass
class Snapshot:
    database: Path
    parquet_dir: Path
    tables: dict[str, int]  # mart -> rows
    analysis: dict[str, int] = field(default_factory=dict)  # analysis table -> rows


_STALE = (".snapshot-*.duckdb", ".snapshot-*.duckdb.wal", ".parquet-*")


def remove_stale_temporaries(snapshot_dir: Path) -> list[Path]:
    """Temporary files of a publish that was killed before its swap (`.snapshot-<token>.duckdb(.wal)`,
    `.parquet-<token>/`, `.parquet-old-<token>/`). Publishes run one at a time (the duckdb_writer pool), so any
    such file at the start of a publish is stale."""
    removed = []
    for pattern in _STALE:
        for path in snapshot_dir.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _copy_comments(con: duckdb.DuckDBPyConnection, alias: str, schema: str, table: str,
                   target: tuple[str, str] | None = None, kind: str = "TABLE", note: str = "") -> None:
    """The warehouse's comments of `schema.table` and its columns onto `alias.<target>` (default the same name),
    a TABLE or a VIEW; `note` is appended to the table's comment. `CREATE TABLE AS` copies no comment."""
    to_schema, to_table = target or (schema, table)
    where = "database_name = current_database() AND schema_name = ? AND table_name = ?"
    comment = con.execute(f"SELECT comment FROM duckdb_tables() WHERE {where}", [schema, table]).fetchone()
    if comment and comment[0]:
        con.execute(f'COMMENT ON {kind} {alias}."{to_schema}"."{to_table}" IS {_literal(comment[0] + note)}')
    columns = con.execute(f"SELECT column_name, comment FROM duckdb_columns() WHERE {where} AND comment IS NOT NULL",
                          [schema, table]).fetchall()
    for column, text in columns:
        con.execute(f'COMMENT ON COLUMN {alias}."{to_schema}"."{to_table}"."{column}" IS {_literal(text)}')


def _write_frame(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, target: str, comment: str,
                 types: Mapping[str, str] | None = None) -> int:
    """`frame` as the table `target` (alias.schema.name) with its comment; returns its rows. `types`: SQL types
    of columns that may be all null (DuckDB would guess INTEGER for them)."""
    view = f"_publish_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' if types and c in types else f'"{c}"'
                        for c in frame.columns)
    con.register(view, frame)
    try:
        con.execute(f"CREATE TABLE {target} AS SELECT {columns} FROM {view}")
    finally:
        con.unregister(view)
    con.execute(f"COMMENT ON TABLE {target} IS {_literal(comment)}")
    return len(frame)


def analysis_frames(steps: Mapping[str, StepTables]) -> list[tuple[AnalysisTable, pd.DataFrame]]:
    """The published tables (ANALYSIS_TABLES' order) of the steps that made an estimate. A step not run, not
    requested or not estimable has none: its tables are absent (analysis.steps says why), not an error."""
    found = []
    for table in ANALYSIS_TABLES:
        step = steps.get(table.step)
        if step is not None and step.status == "estimated" and table.part in step.tables:
            found.append((table, step.tables[table.part]))
    return found


def steps_frame(steps: Mapping[str, StepTables]) -> pd.DataFrame:
    """analysis.steps: every step given, its status, why it made no estimate, and its tables in the snapshot."""
    published = {table.name: table.step for table, _ in analysis_frames(steps)}
    return pd.DataFrame(
        [{"step": name, "status": step.status, "reason": step.reason,
          "tables": ", ".join(t for t, s in published.items() if s == name)} for name, step in steps.items()],
        columns=["step", "status", "reason", "tables"])


def info_frames(provenance: Mapping, run_id: str, built_at: datetime,
                storage_version: str = STORAGE_VERSION) -> tuple[pd.DataFrame, pd.DataFrame]:
    """snapshot_info (one row) and snapshot_inputs (one row per source table) from the run's provenance record
    (als_eca.provenance.collect). `run_id`: the run that published the snapshot; the record's own run id is the
    run whose analysis steps made the published results (the same one in an `als-eca run`)."""
    code = provenance.get("code", {})
    study = provenance.get("study", {})
    export_date = (provenance.get("pms_export") or {}).get("export_date")
    info = pd.DataFrame([{
        "built_at": built_at.astimezone(UTC).replace(tzinfo=None),
        "run_id": run_id,
        "analysis_run_id": provenance.get("run_id"),
        "code_commit": code.get("commit"),
        "code_dirty": code.get("dirty"),
        "study_id": study.get("id"),
        "study_spec_sha256": study.get("sha256"),
        "pms_export_date": export_date,  # (text: DATE when written)
        "synthetic": provenance.get("synthetic") is not None,
        "input_files": sum(1 for i in provenance.get("inputs", []) if i.get("sha256")),
        "duckdb_version": duckdb.__version__,
        "storage_version": storage_version,
    }])
    inputs = pd.DataFrame([{c: i.get(c) for c in INPUT_COLUMNS} for i in provenance.get("inputs", [])],
                          columns=list(INPUT_COLUMNS))
    return info, inputs


#: snapshot_info's and snapshot_inputs' columns: SQL type and comment.
INFO_COLUMNS = {
    "built_at": ("TIMESTAMP", "When the snapshot was published (UTC)."),
    "run_id": ("VARCHAR", "The Dagster run that published it."),
    "analysis_run_id": ("VARCHAR", "The run whose analysis steps made analysis.* (the provenance step's run; the "
                                   "same run in an `als-eca run`)."),
    "code_commit": ("VARCHAR", "The git commit of the code."),
    "code_dirty": ("BOOLEAN", "The working tree differed from that commit (null: not a git checkout)."),
    "study_id": ("VARCHAR", "The study spec's id (studies/<file>.yml)."),
    "study_spec_sha256": ("VARCHAR", "sha256 of the study spec file as run."),
    "pms_export_date": ("DATE", "The date of the PMS export loaded (its folder pms_export_YYYY-MM-DD or its "
                                "manifest)."),
    "synthetic": ("BOOLEAN", "The sources were generated by `als-eca generate` (not real data)."),
    "input_files": ("INTEGER", "Source files loaded (snapshot_inputs lists them)."),
    "duckdb_version": ("VARCHAR", "The DuckDB library that wrote the snapshot."),
    "storage_version": ("VARCHAR", "The snapshot file's storage format: DuckDB clients from this version on open "
                                   "it."),
}
INPUT_COLUMNS = {
    "source_table": ("VARCHAR", "The raw table the file was loaded into (raw.<source_table> in the warehouse)."),
    "file": ("VARCHAR", "The file's name (null: an optional file that was absent)."),
    "sha256": ("VARCHAR", "sha256 of the file as delivered."),
    "bytes": ("BIGINT", "The file's size in bytes."),
    "rows_read": ("BIGINT", "CSV records in the file (header and blank records left out)."),
    "rows_loaded": ("BIGINT", "Rows loaded into the raw table."),
    "rows_quarantined": ("BIGINT", "Rows quarantined (raw.quarantine in the warehouse): rows_read = rows_loaded "
                                   "+ rows_quarantined."),
}


def publish_snapshot(con: duckdb.DuckDBPyConnection, snapshot_dir: Path, schema: str = "marts", *,
                     steps: Mapping[str, StepTables] | None = None, provenance: Mapping | None = None,
                     run_id: str | None = None) -> Snapshot:
    """Copy every table of `schema` from the open warehouse connection into a new snapshot with its comments and
    a view of it in `main`; with `steps` (analysis step -> its tables) the `analysis` schema, with `provenance`
    (als_eca.provenance.collect's record) and `run_id` snapshot_info / snapshot_inputs; then swap it in."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(snapshot_dir)
    token = uuid.uuid4().hex[:12]
    tmp_db = snapshot_dir / f".snapshot-{token}.duckdb"
    tmp_parquet = snapshot_dir / f".parquet-{token}"
    tmp_parquet.mkdir()
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_catalog = "
            "current_database() order by table_name",
            [schema],
        ).fetchall()
    ]
    counts: dict[str, int] = {}
    analysis: dict[str, int] = {}
    alias = f"snapshot_{token}"
    # An explicit storage format: analysts' own (older) DuckDB clients can open the file (STORAGE_VERSION).
    con.execute(f"attach '{tmp_db}' as {alias} (storage_version '{STORAGE_VERSION}')")
    try:
        con.execute(f"create schema {alias}.{schema}")
        for table in tables:
            con.execute(f"create table {alias}.{schema}.{table} as select * from {schema}.{table}")
            _copy_comments(con, alias, schema, table)
            # The client's default schema is `main`: a view there makes the unqualified name the mart. (A view
            # stored in the file resolves `marts.x` in its own database when an analyst queries it.)
            con.execute(f"create view {alias}.main.{table} as select * from {schema}.{table}")
            _copy_comments(con, alias, schema, table, target=("main", table), kind="VIEW",
                           note=f" (main.{table} is a view of {schema}.{table})")
            con.execute(f"copy {schema}.{table} to '{tmp_parquet / (table + '.parquet')}' (format parquet)")
            counts[table] = con.execute(f"select count(*) from {alias}.{schema}.{table}").fetchone()[0]
        if steps is not None:
            analysis = _write_analysis(con, alias, steps, tmp_parquet / ANALYSIS_SCHEMA)
        if provenance is not None:
            _write_info(con, alias, provenance, run_id or "unknown", tmp_parquet)
    finally:
        con.execute(f"detach {alias}")

    database = snapshot_dir / "snapshot.duckdb"
    os.replace(tmp_db, database)  # atomic on POSIX: readers see the old or the new file, never a mix
    parquet_dir = snapshot_dir / "parquet"
    old = snapshot_dir / f".parquet-old-{token}"
    if parquet_dir.exists():
        os.replace(parquet_dir, old)
    os.replace(tmp_parquet, parquet_dir)
    shutil.rmtree(old, ignore_errors=True)
    return Snapshot(database=database, parquet_dir=parquet_dir, tables=counts, analysis=analysis)


def _write_analysis(con: duckdb.DuckDBPyConnection, alias: str, steps: Mapping[str, StepTables],
                    parquet_dir: Path) -> dict[str, int]:
    con.execute(f"create schema {alias}.{ANALYSIS_SCHEMA}")
    parquet_dir.mkdir()
    counts = {}
    for table, frame in analysis_frames(steps):
        target = f"{alias}.{ANALYSIS_SCHEMA}.{table.name}"
        counts[table.name] = _write_frame(con, frame, target, f"{table.description} Made by the analysis step "
                                                              f"`{table.step}` (its table `{table.part}`).")
        con.execute(f"copy {target} to '{parquet_dir / (table.name + '.parquet')}' (format parquet)")
    _write_frame(con, steps_frame(steps), f"{alias}.{ANALYSIS_SCHEMA}.steps",
                 "Every analysis step: estimated, not estimable or not requested by the study spec (then its "
                 "tables are absent), why, and its tables in this schema.",
                 types=dict.fromkeys(("step", "status", "reason", "tables"), "VARCHAR"))
    return counts


def _write_info(con: duckdb.DuckDBPyConnection, alias: str, provenance: Mapping, run_id: str,
                parquet_dir: Path) -> None:
    info, inputs = info_frames(provenance, run_id, datetime.now(UTC))
    for name, frame, comment, columns in (
        ("snapshot_info", info, "What built this snapshot (one row): when, the run, the code, the study spec, the "
                                "PMS export.", INFO_COLUMNS),
        ("snapshot_inputs", inputs, "Every source file the warehouse was loaded from, with its sha256 and rows "
                                    "(raw.load_audit).", INPUT_COLUMNS),
    ):
        target = f"{alias}.main.{name}"
        _write_frame(con, frame, target, comment, types={c: t for c, (t, _) in columns.items()})
        for column, (_, text) in columns.items():
            con.execute(f'COMMENT ON COLUMN {target}."{column}" IS {_literal(text)}')
        con.execute(f"copy {target} to '{parquet_dir / (name + '.parquet')}' (format parquet)")
