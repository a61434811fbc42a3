"""`als-eca inspect DIR`: what a user runs first on a new PRO-ACT download or PMS export.

The files are read through the same loader as a run (discovery, schema contract, quarantine rules, the cascade
to the patient), into a throw-away DuckDB file in a temporary folder; the cohort flow comes from the same dbt
models as a run (`dbt seed` + `dbt run --select +mart_survival_cohort` on that file). No warehouse is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from als_eca.ingest import (
    IngestError,
    SourceFile,
    discover_pms,
    discover_proact,
    load_source,
    newest_pms_export,
)
from als_eca.ingest.discover import pms_sources
from als_eca.ingest.loader import empty_table
from als_eca.ingest.schemas import PMS_TABLES, PROACT_TABLES
from als_eca.settings import DBT_PROJECT_DIR

_SAMPLE_LINES = 3  # quarantined lines shown per reason


@dataclass
class FormReport:
    source: str
    form: str
    required: bool
    file: str | None
    name_variant: str | None
    status: str  # "present", "absent", "error"
    rows: int | None = None
    rows_loaded: int | None = None
    subjects: int | None = None
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)  # reason, rows, first lines
    error: str | None = None


@dataclass
class Inspection:
    proact_dir: str | None
    pms_export: str | None
    forms: list[FormReport]
    subjects_across_files: list[dict]
    cross_file_facts: dict[str, int]
    cohort_flow: list[dict]
    cohort_flow_error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def locate(directory: Path) -> tuple[Path | None, Path | None]:
    """(PRO-ACT folder, PMS folder of exports) for DIR: a PRO-ACT download, a folder of `pms_export_*` deliveries,
    one delivery, or a folder holding `proact/` and `pms/` (as `als-eca generate` writes)."""
    directory = Path(directory)
    if directory.is_file() and directory.suffix.lower() == ".zip":
        return directory, None  # the PRO-ACT download as its archive
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder")
    proact = pms = None
    if (directory / "proact").is_dir() or (directory / "pms").is_dir():
        proact = directory / "proact" if (directory / "proact").is_dir() else None
        pms = directory / "pms" if (directory / "pms").is_dir() else None
    elif directory.name.startswith("pms_export_") or any(p.is_dir() and p.name.startswith("pms_export_") for p in directory.iterdir()):
        pms = directory
    else:
        proact = directory
    return proact, pms


def _variant(path: Path) -> str:
    name = path.name.lower()
    if name.startswith("f_proact_"):
        return "F_PROACT_ prefix"
    if name.startswith("proact_"):
        return "PROACT_<FORM>.csv (current release)"
    return "bare form name (2016 archive)"


def _one_export(pms: Path) -> tuple[Path, list[SourceFile]]:
    """A single delivery folder is inspected as it is; a folder of deliveries by its newest one."""
    if pms.name.startswith("pms_export_"):
        return pms, pms_sources(pms)
    export = newest_pms_export(pms)
    return export, discover_pms(pms)


def _load(con, source: SourceFile) -> FormReport:
    schema = source.schema
    report = FormReport(schema.source, schema.name, schema.required_file,
                        str(source.path or source.expected), _variant(source.path) if source.path and
                        schema.source == "proact" else None, "present" if source.path else "absent")
    try:
        result = load_source(con, source)
    except IngestError as exc:
        report.status, report.error = "error", str(exc)
        empty_table(con, schema)  # so the other forms and the cohort flow can still be shown
        return report
    if source.path is None:
        return report
    report.rows, report.rows_loaded = result.rows_read, result.rows_loaded
    report.unknown_columns, report.missing_columns = result.unknown_columns, result.missing_columns
    key = schema.key_column
    report.subjects = con.execute(f'SELECT count(DISTINCT "{key}") FROM raw.{schema.table}').fetchone()[0]
    report.quarantined = [
        {"reason": reason, "rows": n, "first_lines": lines[:_SAMPLE_LINES]}
        for reason, n, lines in con.execute(
            """SELECT regexp_replace(reason, ' line [0-9]+', ' line N') AS kind, count(*),
                      list(line ORDER BY line)
               FROM raw.quarantine WHERE source_table = ? GROUP BY kind ORDER BY 2 DESC""",
            [schema.table]).fetchall()
    ]
    return report


def _subjects_across_files(con) -> tuple[list[dict], dict[str, int]]:
    """Per PRO-ACT file: subjects, and of them how many have no TREATMENT row (arm unknown); per PMS domain:
    patients, and of them how many have no dm.csv record."""
    rows = []
    for schema in PROACT_TABLES:
        n, outside = con.execute(
            f"""SELECT count(DISTINCT subject_id),
                       count(DISTINCT subject_id) FILTER (WHERE subject_id NOT IN
                           (SELECT subject_id FROM raw.proact_treatment))
                FROM raw.{schema.table}""").fetchone()
        if n:
            rows.append({"source": "PRO-ACT", "file": schema.name, "subjects": n, "not_in_parent": outside,
                         "parent": "TREATMENT"})
    for schema in PMS_TABLES:
        n, outside = con.execute(
            f"""SELECT count(DISTINCT USUBJID),
                       count(DISTINCT USUBJID) FILTER (WHERE USUBJID NOT IN (SELECT USUBJID FROM raw.pms_dm))
                FROM raw.{schema.table}""").fetchone()
        if n:
            rows.append({"source": "PMS", "file": schema.name, "subjects": n, "not_in_parent": outside,
                         "parent": "dm"})
    rows.sort(key=lambda r: (r["source"] != "PRO-ACT", -r["subjects"]))
    facts = dict(zip(
        ["outside TREATMENT with ALSFRS, ALSHISTORY and DEMOGRAPHICS rows", "TREATMENT subjects without ALSFRS",
         "placebo subjects without ALSFRS", "DEATHDATA subjects outside TREATMENT"],
        con.execute("""
            WITH t AS (SELECT DISTINCT subject_id, lower(trim(Study_Arm)) AS arm FROM raw.proact_treatment),
                 a AS (SELECT DISTINCT subject_id FROM raw.proact_alsfrs)
            SELECT (SELECT count(*) FROM (SELECT DISTINCT subject_id FROM raw.proact_demographics) AS d
                    WHERE subject_id NOT IN (SELECT subject_id FROM t) AND subject_id IN (SELECT subject_id FROM a)
                      AND subject_id IN (SELECT subject_id FROM raw.proact_alshistory)),
                   (SELECT count(DISTINCT subject_id) FROM t WHERE subject_id NOT IN (SELECT subject_id FROM a)),
                   (SELECT count(DISTINCT subject_id) FROM t
                    WHERE arm = 'placebo' AND subject_id NOT IN (SELECT subject_id FROM a)),
                   (SELECT count(DISTINCT subject_id) FROM raw.proact_deathdata
                    WHERE subject_id NOT IN (SELECT subject_id FROM t))""").fetchone(), strict=True))
    return rows, facts


def _cohort_flow(warehouse: Path, workdir: Path) -> list[dict]:
    """The cohort flow the loaded files give, from the run's own dbt models (in a child process: dbt's
    profile reads the warehouse path from ALS_ECA_WAREHOUSE, set for the child only)."""
    env = {**os.environ, "ALS_ECA_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DO_NOT_TRACK": "1"}
    common = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
              "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"), "--quiet"]
    dbt = [sys.executable, "-c", "from dbt.cli.main import cli; cli()"]
    for args in (["seed"], ["run", "--select", "+mart_survival_cohort"]):
        done = subprocess.run([*dbt, *args, *common], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dbt {args[0]} failed: {(done.stdout + done.stderr).strip()[-2000:]}")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        flow = con.execute(
            """SELECT c.source, coalesce(c.exclusion_reason, 'eligible') AS step, count(*) AS patients
               FROM marts.mart_survival_cohort AS c
               LEFT JOIN reference.cohort_exclusion_steps AS s USING (exclusion_reason)
               GROUP BY ALL ORDER BY c.source DESC, min(coalesce(s.step_order, 999))""").fetchall()
    out = []
    for source in dict.fromkeys(s for s, _, _ in flow):
        steps = [(step, n) for s, step, n in flow if s == source]
        out.append({"source": source, "step": "all patients", "patients": sum(n for _, n in steps)})
        out += [{"source": source, "step": ("excluded: " + step) if step != "eligible" else step, "patients": n}
                for step, n in steps]
    return out


def inspect(directory: Path, *, cohort: bool = True) -> Inspection:
    """Read what DIR holds through the loader (nothing written outside a temporary folder)."""
    proact, pms = locate(directory)
    export, pms_sources = _one_export(pms) if pms else (None, [])
    proact_sources = discover_proact(proact) if proact else []
    with tempfile.TemporaryDirectory(prefix="als-eca-inspect-") as tmp:
        warehouse = Path(tmp) / "inspect.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            forms = [_load(con, s) for s in (*proact_sources, *pms_sources)]
            loaded = {f"{f.source}_{f.form.lower()}" for f in forms}
            for schema in (*PROACT_TABLES, *PMS_TABLES):  # the source not given: empty, so the SQL still binds
                if schema.table not in loaded:
                    empty_table(con, schema)
            across, facts = _subjects_across_files(con)
        flow, flow_error = [], None
        if cohort:
            try:
                flow = _cohort_flow(warehouse, Path(tmp))
            except RuntimeError as exc:
                flow_error = str(exc)
    return Inspection(str(proact) if proact else None, str(export) if export else None, forms, across,
                      facts if proact else {}, flow, flow_error)


def render(report: Inspection) -> str:
    """Plain text for a person."""
    out: list[str] = []
    if report.proact_dir:
        out.append(f"PRO-ACT download: {report.proact_dir}")
    if report.pms_export:
        out.append(f"PMS export: {report.pms_export}")
    for source in ("proact", "pms"):
        forms = [f for f in report.forms if f.source == source]
        if not forms:
            continue
        out += ["", f"{'PRO-ACT forms' if source == 'proact' else 'PMS domains'}:"]
        for f in forms:
            need = "required" if f.required else "optional"
            if f.status == "absent":
                out.append(f"  {f.form:<17} absent ({need})")
                continue
            if f.status == "error":
                out.append(f"  {f.form:<17} ERROR ({need}): {f.error}")
                continue
            name = Path(f.file).name + (f" [{f.name_variant}]" if f.name_variant else "")
            out.append(f"  {f.form:<17} {name}: {f.rows:,} rows, {f.subjects:,} "
                       f"{'subjects' if source == 'proact' else 'patients'}, {f.rows_loaded:,} would load")
            if f.unknown_columns:
                out.append(f"      columns not in the contract: {', '.join(f.unknown_columns)}")
            if f.missing_columns:
                out.append(f"      columns missing (loaded as empty): {', '.join(f.missing_columns)}")
            for q in f.quarantined:
                lines = ", ".join(str(n) for n in q["first_lines"]) + (", ..." if q["rows"] > len(q["first_lines"])
                                                                       else "")
                out.append(f"      quarantined {q['rows']:,}: {q['reason']} (lines {lines})")
    if report.subjects_across_files:
        out += ["", "Subjects across files:",
                f"  {'file':<26}{'subjects':>10}  {'of them without a TREATMENT (PRO-ACT) / dm (PMS) row':>54}"]
        for r in report.subjects_across_files:
            out.append(f"  {r['source'] + ' ' + r['file']:<26}{r['subjects']:>10,}  {r['not_in_parent']:>54,}")
        for name, n in report.cross_file_facts.items():
            out.append(f"  {name}: {n:,}")
    if report.cohort_flow:
        out += ["", "Cohort flow (the paper's eligibility rules, as a run would apply them):"]
        for r in report.cohort_flow:
            out.append(f"  {r['source']:<8} {r['step']:<72} {r['patients']:>7,}")
    if report.cohort_flow_error:
        out += ["", f"Cohort flow not available: {report.cohort_flow_error}"]
    return "\n".join(out)
