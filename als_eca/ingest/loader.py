"""Loading one source file into its raw table, streamed through DuckDB (`read_csv`, then SQL; no Python row loops).

Per file, in one transaction:
1. the header is checked against the schema contract (a missing required column fails the load, naming the file
   and the column; unknown columns are warned about and kept, except in PMS files, where an unknown column could
   hold an identifier and is dropped);
2. DuckDB's CSV reader parses each column as its declared type (natively, the fastest way), and rejects
   malformed records (wrong field count, broken quoting, bytes that are not UTF-8, a value that does not parse as
   its type); those go to `raw.quarantine` with DuckDB's line number, column and message;
3. required values and the contract's rules (ranges) are checked in SQL; the first failing column of a row
   sends the row to quarantine with that column, its value and the reason;
4. PMS patient keys are replaced by keyed pseudonyms and direct identifiers dropped before anything is written;
5. `raw.load_audit` records rows read (counted independently, from the file's lines), loaded and quarantined.

Raw tables keep the file's row order (so `rowid` is file order) and a `_source_file` column. Quarantined rows carry
their record's line in the file (header = line 1), numbered as DuckDB numbers lines in its reject table. A stored
line number for every loaded row would cost a window over the whole file (it doubled load time), so it is not kept.
"""

from __future__ import annotations

import csv
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from als_eca.checksum import FileStats, file_stats
from als_eca.ingest.pseudonym import pseudonym_lookup_sql, pseudonym_sql
from als_eca.ingest.schemas import VARCHAR, TableSchema

log = logging.getLogger(__name__)

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine (
    source_table VARCHAR, file VARCHAR, line BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR
)"""
AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS raw.load_audit (
    source_table VARCHAR PRIMARY KEY, file VARCHAR, path VARCHAR, sha256 VARCHAR, bytes BIGINT,
    rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, loaded_at TIMESTAMP
)"""
_MAX_VALUE = 200  # quarantined values are truncated: enough to see the problem
_STATS_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-stats")


class IngestError(Exception):
    """A file that cannot be loaded at all; the message names the file, and the line and column when known."""

    def __init__(self, file: Path | str, message: str, line: int | None = None, column: str | None = None):
        self.file, self.line, self.column, self.reason = str(file), line, column, message
        where = str(file) + (f", line {line}" if line is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


@dataclass
class LoadResult:
    table: str
    file: str | None
    path: str | None
    stats: FileStats | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    columns: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(QUARANTINE_DDL)
    con.execute(AUDIT_DDL)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_header(path: Path) -> list[str]:
    """The header's column names. Fails, naming the file, on an empty file, a non-comma delimiter or bad bytes."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    if not first.strip():
        raise IngestError(path, "file is empty: no header line", line=1)
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise IngestError(path, f"header is not UTF-8 text ({exc.reason} at byte {exc.start})", line=1) from None
    names = next(csv.reader([text]))
    if len(names) == 1:
        for delimiter, label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delimiter in text:
                raise IngestError(path, f"file is {label}-separated; expected comma-separated values", line=1)
    names = [n.strip() for n in names]
    seen: set[str] = set()
    for n in names:
        if not n:
            raise IngestError(path, "header has an empty column name", line=1)
        if n.lower() in seen:
            raise IngestError(path, "column appears twice in the header", line=1, column=n)
        seen.add(n.lower())
    return names


def empty_table(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> LoadResult:
    """An absent optional file: an empty table with the declared columns, so downstream SQL still binds."""
    ensure_raw_schema(con)
    cols = _output_columns(schema)
    body = ", ".join(f"{_q(n)} {t}" for n, t in cols.items())
    con.execute("BEGIN")
    con.execute(f"CREATE OR REPLACE TABLE raw.{schema.table} ({body}, _source_file VARCHAR)")
    con.execute("DELETE FROM raw.quarantine WHERE source_table = ?", [schema.table])
    con.execute("DELETE FROM raw.load_audit WHERE source_table = ?", [schema.table])
    con.execute("INSERT INTO raw.load_audit VALUES (?, NULL, NULL, NULL, 0, 0, 0, 0, now())", [schema.table])
    con.execute("COMMIT")
    return LoadResult(schema.table, None, None, None, 0, 0, 0, cols, [f"{schema.table}: no source file, loaded empty"])


def _output_columns(schema: TableSchema) -> dict[str, str]:
    """Declared columns as written to the raw table (PMS: identifiers dropped, birth date reduced to year)."""
    out: dict[str, str] = {}
    for c in schema.columns:
        if c.name in schema.identifiers:
            if c.name == "BRTHDTC":
                out["BRTHYR"] = "INTEGER"
            continue
        out[c.name] = c.type
    return out


def load_file(
    con: duckdb.DuckDBPyConnection, schema: TableSchema, path: Path, *, key: bytes | None = None
) -> LoadResult:
    """Load `path` into `raw.<schema.table>`, replacing it; see the module docstring for the steps.

    The file is scanned once: parsing, typing, rule checks, pseudonyms and line numbers happen in one
    `CREATE TABLE ... AS SELECT` over `read_csv`; rejected rows are then moved to quarantine (cheap: usually none).
    """
    path = Path(path)
    if schema.pseudonymised and key is None:
        raise ValueError(f"{schema.table} holds patient keys: a pseudonym key is required")
    if not path.is_file():
        raise IngestError(path, "file not found or unreadable")
    ensure_raw_schema(con)
    header = read_header(path)
    warnings = _header_warnings(schema, header, path)
    # The checksum and line count run in a thread while DuckDB scans the file (hashlib releases the GIL).
    stats_future = _STATS_POOL.submit(file_stats, path)
    for w in warnings:
        log.warning(w)

    t = schema.table
    # The header is read positionally as c0..cN: robust to odd names and BOMs, and independent of their case.
    internal = [f"c{i}" for i in range(len(header))]
    src = {n.lower(): f"c{i}" for i, n in enumerate(header)}
    declared = {c.name.lower() for c in schema.columns}
    unknown = [n for n in header if n.lower() not in declared]
    params: dict[str, object] = {"path": str(path), "columns": read_types(schema, header)}
    pseudonym = None
    if schema.pseudonymised:
        key_column = src.get(schema.pseudonymised[0].lower())
        pseudonym, pseudonym_params = pseudonym_lookup_sql(key_column, _export_patients(con, path), key)
        params.update(pseudonym_params)

    plan = _plan(schema, src, pseudonym)
    out_cols = plan.out_cols
    outputs = [f"{alias} AS {_q(name)}" for alias, _, name in plan.typed]
    if not schema.pseudonymised:  # PRO-ACT: unknown columns are kept as text; PMS: dropped (could be identifiers)
        outputs += [f"{src[n.lower()]} AS {_q(n)}" for n in unknown]
        out_cols.update(dict.fromkeys(unknown, VARCHAR))
    fail = ("CASE " + " ".join(f"WHEN {cond} THEN {i}" for i, (cond, *_) in enumerate(plan.checks, 1)) + " END"
            if plan.checks else "NULL::INTEGER")
    bad_value = ("CASE _fail " + " ".join(f"WHEN {i} THEN {shown}" for i, (*_, shown) in enumerate(plan.checks, 1))
                 + " END" if plan.checks else "NULL::VARCHAR")
    typed = ", ".join(f"{expr} AS {alias}" for alias, expr, _ in plan.typed)

    rej, scan = f"_rejects_{t}", f"_scans_{t}"
    con.execute(f"DROP TABLE IF EXISTS {rej}; DROP TABLE IF EXISTS {scan}")
    con.execute("BEGIN")
    try:
        try:
            con.execute(
                f"""CREATE OR REPLACE TABLE raw.{t} AS
                    SELECT {", ".join(outputs)}, $file AS _source_file, _fail, {bad_value} AS _bad_value
                    FROM (SELECT *, {fail} AS _fail
                          FROM (SELECT *, {typed}
                                FROM read_csv($path, header = true, auto_detect = false, columns = $columns,
                                              delim = ',', quote = '"', escape = '"', strict_mode = true,
                                              encoding = 'utf-8', store_rejects = true,
                                              rejects_table = '{rej}', rejects_scan = '{scan}')))""",
                {**params, "file": path.name},
            )
        except duckdb.Error as exc:
            raise IngestError(path, f"unreadable as CSV: {str(exc).splitlines()[0]}") from None

        _collect_rejects(con, rej, internal, header)
        con.execute("DELETE FROM raw.quarantine WHERE source_table = ?", [t])
        if con.execute(f"SELECT count(*) FROM raw.{t} WHERE _fail IS NOT NULL").fetchone()[0]:
            # A fresh table's rowids follow file order (insertion order is preserved; inside this transaction they
            # start at an offset, hence `- base`). The record's line adds the header and the parser rejects before
            # it (an ASOF join on the rejects' positions among accepted rows).
            con.execute(
                f"""INSERT INTO raw.quarantine
                    WITH base AS (SELECT min(rowid) AS base FROM raw.{t}),
                         bad AS (SELECT r._source_file, r._fail, r._bad_value, r.rowid - base.base + 1 AS ordinal
                                 FROM raw.{t} AS r, base WHERE r._fail IS NOT NULL),
                         why AS (SELECT unnest($columns) AS column_name, unnest($reasons) AS reason,
                                        generate_subscripts($columns, 1) AS i)
                    SELECT $t, bad._source_file, bad.ordinal + 1 + coalesce(k.j, 0), why.column_name,
                           bad._bad_value, why.reason
                    FROM bad JOIN why ON why.i = bad._fail
                    ASOF LEFT JOIN (SELECT line - 1 - j AS accepted_before, max(j) AS j FROM _rej GROUP BY ALL) AS k
                         ON bad.ordinal > k.accepted_before
                    ORDER BY 3""",
                {"t": t, "columns": [c[1] for c in plan.checks], "reasons": [c[2] for c in plan.checks]},
            )
            con.execute(f"DELETE FROM raw.{t} WHERE _fail IS NOT NULL")
        parse_value = "NULL" if schema.pseudonymised else f"left(trim(csv_line, chr(10) || chr(13)), {_MAX_VALUE})"
        con.execute(
            f"""INSERT INTO raw.quarantine
                SELECT $t, $file, line, column_name, {parse_value}, reason FROM _rej ORDER BY line""",
            {"t": t, "file": path.name},
        )
        con.execute(f"ALTER TABLE raw.{t} DROP COLUMN _fail")
        con.execute(f"ALTER TABLE raw.{t} DROP COLUMN _bad_value")

        loaded = con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
        reasons = dict(
            con.execute(
                "SELECT reason, count(*) FROM raw.quarantine WHERE source_table = ? GROUP BY reason ORDER BY 2 DESC",
                [t],
            ).fetchall()
        )
        quarantined = sum(reasons.values())
        stats = stats_future.result()
        rows_read = stats.lines - stats.blank_lines - 1  # independent of the parser: the file's data lines
        con.execute("DELETE FROM raw.load_audit WHERE source_table = ?", [t])
        con.execute(
            "INSERT INTO raw.load_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
            [t, path.name, str(path.resolve()), stats.sha256, stats.bytes, rows_read, loaded, quarantined],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS _rej; DROP TABLE IF EXISTS {rej}; DROP TABLE IF EXISTS {scan}")
    if rows_read != loaded + quarantined:
        warnings.append(f"{path.name}: {rows_read} data lines but {loaded} loaded + {quarantined} quarantined")
    return LoadResult(
        t, path.name, str(path.resolve()), stats, rows_read, loaded, quarantined, out_cols, warnings, reasons
    )


def _header_warnings(schema: TableSchema, header: list[str], path: Path) -> list[str]:
    """Fail on a missing required column; warn about absent optional and unknown extra columns."""
    present = {n.lower() for n in header}
    declared = {c.name.lower() for c in schema.columns}
    for c in schema.columns:
        if c.required and c.name.lower() not in present:
            raise IngestError(path, "required column missing from the header", line=1, column=c.name)
    warnings = []
    missing = [c.name for c in schema.columns if c.name.lower() not in present]
    if missing:
        warnings.append(f"{path.name}: optional columns absent, loaded as NULL: {', '.join(missing)}")
    unknown = [n for n in header if n.lower() not in declared]
    if unknown:
        kept = "dropped (PMS: could hold identifiers)" if schema.pseudonymised else "kept as text"
        warnings.append(f"{path.name}: columns not in the contract, {kept}: {', '.join(unknown)}")
    return warnings


@dataclass(frozen=True)
class _Plan:
    typed: list[tuple[str, str, str]]  # (alias, SQL over the raw text columns, output column name)
    checks: list[tuple[str, str, str, str]]  # (failure condition over aliases/raw, column, reason, value shown)
    out_cols: dict[str, str]


def _plan(schema: TableSchema, src: dict[str, str], pseudonym: str | None = None) -> _Plan:
    """Output expressions of the declared columns and the quarantine checks, in column order. Declared types are
    parsed by the CSV reader itself (a value that does not parse is a reject with its line and column), so the
    checks left here are required values and the contract's rules."""
    typed: list[tuple[str, str, str]] = []
    checks: list[tuple[str, str, str, str]] = []
    for k, c in enumerate(schema.columns):
        raw, alias = src.get(c.name.lower()), f"v{k}"
        if c.name in schema.pseudonymised:
            typed.append((alias, (pseudonym or pseudonym_sql(raw)) if raw else "NULL::VARCHAR", c.name))
        elif c.name == "BRTHDTC" and c.name in schema.identifiers:
            typed.append((alias, f"try_cast(left(trim({raw}), 4) AS INTEGER)" if raw else "NULL::INTEGER", "BRTHYR"))
            continue
        elif c.name in schema.identifiers:
            continue
        else:
            typed.append((alias, raw or f"NULL::{c.type}", c.name))
        if not raw:
            continue
        numeric = c.type != VARCHAR
        shown = alias if c.name in schema.pseudonymised else (
            f"CAST({raw} AS VARCHAR)" if numeric else f"left({raw}, {_MAX_VALUE})")
        if c.not_null:
            missing = f"{raw} IS NULL" if numeric else f"nullif(trim({raw}), '') IS NULL"
            checks.append((missing, c.name, "required value missing", shown))
        if c.type == "DOUBLE":
            checks.append((f"NOT isfinite({raw})", c.name, "not a finite number", shown))
        if c.rule:
            checks.append((f"coalesce(NOT ({c.rule.format(v=alias)}), false)", c.name, c.rule_text or c.rule, shown))
    return _Plan(typed, checks, _output_columns(schema))


def read_types(schema: TableSchema, header: list[str]) -> dict[str, str]:
    """The type the CSV reader parses each header column as (internal names c0..cN): declared types, text for
    unknown columns, identifiers and pseudonymised keys."""
    out = {}
    for i, name in enumerate(header):
        try:
            column = schema.column(name)
        except KeyError:
            out[f"c{i}"] = VARCHAR
            continue
        hidden = column.name in schema.identifiers or column.name in schema.pseudonymised
        out[f"c{i}"] = VARCHAR if hidden else column.type
    return out


def _export_patients(con, path: Path) -> list[str]:
    """Patient keys of the export's dm.csv (the lookup table for pseudonyms); empty when there is none."""
    dm = path.parent / "dm.csv"
    if not dm.is_file():
        return []
    try:
        rows = con.execute("SELECT DISTINCT trim(USUBJID) FROM read_csv(?, header = true, all_varchar = true)",
                           [str(dm)]).fetchall()
    except duckdb.Error:
        return []  # unreadable or no USUBJID column: every key is hashed one by one instead
    return [r[0] for r in rows if r[0]]


def _collect_rejects(con, rejects: str, internal: list[str], header: list[str]) -> None:
    """The parser's rejected records, one row per line, with the header's column name (temp table `_rej`)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rej AS
            SELECT line, any_value(hdr.name ORDER BY column_idx) AS column_name,
                   any_value(error_type::VARCHAR || ': ' || coalesce(
                                 replace(split_part(error_message, chr(10), 1), '"' || column_name || '"',
                                         '"' || hdr.name || '"'),
                                 split_part(error_message, chr(10), 1))
                             ORDER BY column_idx) AS reason,
                   any_value(csv_line) AS csv_line,
                   row_number() OVER (ORDER BY line) AS j
            FROM {rejects} LEFT JOIN (SELECT unnest($internal) AS internal, unnest($header) AS name) AS hdr
                 ON hdr.internal = {rejects}.column_name
            GROUP BY line""",
        {"internal": internal, "header": header},
    )
