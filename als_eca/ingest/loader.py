"""Loading one source file into its raw table, streamed through DuckDB (`read_csv`, then SQL; no Python row loops).

Per file, in one transaction:
1. the header is checked against the schema contract (a missing required column fails the load, naming the file
   and the column; unknown columns are warned about and kept, except in PMS files, where an unknown column could
   hold an identifier and is dropped);
2. every field is read as text, so the CSV parser itself rejects only malformed records (wrong field count,
   broken quoting, bytes that are not UTF-8); those go to `raw.quarantine` with DuckDB's line number;
3. each declared column is cast with TRY_CAST and checked against its rule; the first failing column of a row
   sends the row to quarantine with that column, its value and the reason;
4. PMS patient keys are replaced by keyed pseudonyms and direct identifiers dropped before anything is written;
5. `raw.load_audit` records rows read (counted independently, from the file's lines), loaded and quarantined.

`_line_number` is the record's line in the file (header = line 1), as DuckDB numbers lines in its reject table,
so loaded and quarantined rows share one numbering.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from als_eca.checksum import FileStats, file_stats
from als_eca.ingest.pseudonym import pseudonymise
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
    con.execute(f"CREATE OR REPLACE TABLE raw.{schema.table} ({body}, _source_file VARCHAR, _line_number BIGINT)")
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
    """Load `path` into `raw.<schema.table>`, replacing it; see the module docstring for the steps."""
    path = Path(path)
    if schema.pseudonymised and key is None:
        raise ValueError(f"{schema.table} holds patient keys: a pseudonym key is required")
    if not path.is_file():
        raise IngestError(path, "file not found or unreadable")
    ensure_raw_schema(con)
    header = read_header(path)
    stats = file_stats(path)
    warnings: list[str] = []
    by_lower = {n.lower(): n for n in header}
    declared = {c.name.lower() for c in schema.columns}
    for c in schema.columns:
        if c.required and c.name.lower() not in by_lower:
            raise IngestError(path, "required column missing from the header", line=1, column=c.name)
    missing = [c.name for c in schema.columns if c.name.lower() not in by_lower]
    if missing:
        warnings.append(f"{path.name}: optional columns absent, loaded as NULL: {', '.join(missing)}")
    unknown = [n for n in header if n.lower() not in declared]
    if unknown:
        kept = "dropped (PMS: could hold identifiers)" if schema.pseudonymised else "kept as text"
        warnings.append(f"{path.name}: columns not in the contract, {kept}: {', '.join(unknown)}")
    for w in warnings:
        log.warning(w)

    t = schema.table
    # Unique internal names: the header is read positionally as c0..cN (robust to odd names and BOMs).
    names = [f"c{i}" for i in range(len(header))]
    src = {n.lower(): f"c{i}" for i, n in enumerate(header)}
    rej, scan = f"_rejects_{t}", f"_scans_{t}"
    try:
        con.execute(f"DROP TABLE IF EXISTS {rej}; DROP TABLE IF EXISTS {scan}")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _in AS
                SELECT row_number() OVER () AS _ordinal, *
                FROM read_csv(?, header = true, auto_detect = false, columns = ?, delim = ',', quote = '"',
                              escape = '"', strict_mode = true, encoding = 'utf-8', store_rejects = true,
                              rejects_table = '{rej}', rejects_scan = '{scan}')""",
            [str(path), dict.fromkeys(names, "VARCHAR")],
        )
    except duckdb.Error as exc:
        raise IngestError(path, f"unreadable as CSV: {str(exc).splitlines()[0]}") from None

    # Record lines of the parser's rejects; accepted rows get theirs from their ordinal and the rejects before them.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rej AS
            SELECT line, any_value(hdr.name ORDER BY column_idx) AS column_name,
                   any_value(error_type::VARCHAR || ': ' || split_part(error_message, chr(10), 1)
                             ORDER BY column_idx) AS reason,
                   any_value(csv_line) AS csv_line,
                   row_number() OVER (ORDER BY line) AS j
            FROM {rej} LEFT JOIN (SELECT unnest(?) AS internal, unnest(?) AS name) AS hdr
                 ON hdr.internal = {rej}.column_name
            GROUP BY line""",
        [names, header],
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _skips AS
           SELECT line - 1 - j AS accepted_before, max(j) AS j FROM _rej GROUP BY ALL"""
    )

    pseudo_expr = None
    if schema.pseudonymised:
        ids = [r[0] for r in con.execute(f"SELECT DISTINCT {src['usubjid']} FROM _in WHERE "
                                         f"nullif(trim({src['usubjid']}), '') IS NOT NULL").fetchall()]
        con.execute("CREATE OR REPLACE TEMP TABLE _pseudo (original VARCHAR, pseudonym VARCHAR)")
        if ids:
            con.executemany("INSERT INTO _pseudo VALUES (?, ?)", list(zip(ids, pseudonymise(ids, key), strict=True)))
        pseudo_expr = "_pseudo.pseudonym"

    out_cols = _output_columns(schema)
    selects: list[str] = []  # typed output columns
    checks: list[tuple[str, str, str]] = []  # (failure condition, column, reason) in column order
    for c in schema.columns:
        raw = src.get(c.name.lower())
        text = f"nullif(trim({raw}), '')" if raw else "NULL"
        if c.name in schema.pseudonymised:
            value = pseudo_expr
        elif c.name == "BRTHDTC" and c.name in schema.identifiers:
            selects.append(f"try_cast(left({text}, 4) AS INTEGER) AS BRTHYR")
            continue
        elif c.name in schema.identifiers:
            continue
        elif c.type == VARCHAR:
            value = raw or "NULL::VARCHAR"
        else:
            value = f"try_cast({text} AS {c.type})"
        selects.append(f"{value} AS {_q(c.name)}")
        if not raw:
            continue
        if c.not_null:
            checks.append((f"{text} IS NULL", c.name, "required value missing"))
        if c.type != VARCHAR:
            cond = f"{text} IS NOT NULL AND ({value} IS NULL"
            cond += f" OR NOT isfinite({value}))" if c.type == "DOUBLE" else ")"
            checks.append((cond, c.name, f"not a valid {c.type.lower()}"))
        if c.rule:
            checks.append((f"coalesce(NOT ({c.rule.format(v=value)}), false)", c.name, c.rule_text or c.rule))
    if not schema.pseudonymised:
        selects += [f"{src[n.lower()]} AS {_q(n)}" for n in unknown]
        out_cols.update(dict.fromkeys(unknown, VARCHAR))

    def shown(column: str) -> str:
        if column in schema.identifiers:
            return "NULL"
        if column in schema.pseudonymised:
            return pseudo_expr or "NULL"
        return f"left({src[column.lower()]}, {_MAX_VALUE})"

    bad_col = "CASE " + " ".join(f"WHEN {cond} THEN '{col}'" for cond, col, _ in checks) + " END" if checks else "NULL"
    reason = ("CASE " + " ".join(f"WHEN {cond} THEN '{why.replace(chr(39), chr(39) * 2)}'" for cond, _, why in checks)
              + " END") if checks else "NULL"
    value = "CASE " + " ".join(f"WHEN {cond} THEN {shown(col)}" for cond, col, _ in checks) + " END" if checks else "NULL"
    join = f"LEFT JOIN _pseudo ON _pseudo.original = _in.{src['usubjid']}" if pseudo_expr else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _typed AS
            SELECT {', '.join(selects)},
                   ? AS _source_file,
                   _in._ordinal + 1 + coalesce(_skips.j, 0) AS _line_number,
                   {bad_col} AS _bad_column, {reason} AS _reason, {value} AS _bad_value
            FROM _in {join}
            ASOF LEFT JOIN _skips ON _in._ordinal > _skips.accepted_before""",
        [path.name],
    )

    keep = ", ".join([*(_q(n) for n in out_cols), "_source_file", "_line_number"])
    parse_value = "NULL" if schema.pseudonymised else f"left(trim(csv_line, chr(10) || chr(13)), {_MAX_VALUE})"
    con.execute("BEGIN")
    try:
        con.execute(f"CREATE OR REPLACE TABLE raw.{t} AS SELECT {keep} FROM _typed WHERE _reason IS NULL "
                    "ORDER BY _line_number")
        con.execute("DELETE FROM raw.quarantine WHERE source_table = ?", [t])
        con.execute(
            f"""INSERT INTO raw.quarantine
                SELECT ?, _source_file, _line_number, _bad_column, _bad_value, _reason FROM _typed
                WHERE _reason IS NOT NULL
                UNION ALL
                SELECT ?, ?, line, column_name, {parse_value}, reason FROM _rej
                ORDER BY 3""",
            [t, t, path.name],
        )
        loaded = con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
        reasons = dict(con.execute("SELECT reason, count(*) FROM raw.quarantine WHERE source_table = ? "
                                   "GROUP BY reason ORDER BY 2 DESC", [t]).fetchall())
        quarantined = sum(reasons.values())
        rows_read = stats.lines - stats.blank_lines - 1  # independent of the parser: the file's data lines
        con.execute("DELETE FROM raw.load_audit WHERE source_table = ?", [t])
        con.execute("INSERT INTO raw.load_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
                    [t, path.name, str(path.resolve()), stats.sha256, stats.bytes, rows_read, loaded, quarantined])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS _in; DROP TABLE IF EXISTS _typed; DROP TABLE IF EXISTS _rej; "
                    f"DROP TABLE IF EXISTS _skips; DROP TABLE IF EXISTS _pseudo; DROP TABLE IF EXISTS {rej}; "
                    f"DROP TABLE IF EXISTS {scan}")
    if rows_read != loaded + quarantined:
        warnings.append(f"{path.name}: {rows_read} data lines but {loaded} loaded + {quarantined} quarantined")
    return LoadResult(t, path.name, str(path.resolve()), stats, rows_read, loaded, quarantined, out_cols, warnings,
                      reasons)
