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

import codecs
import csv
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from als_eca.ingest.checksum import FileStats, file_stats, open_source
from als_eca.ingest.pseudonym import pseudonym_lookup_sql, pseudonym_sql, pseudonymise
from als_eca.ingest.schemas import PATIENT_TABLES, VARCHAR, TableSchema, by_table

log = logging.getLogger(__name__)

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS raw.quarantine (
    source_table VARCHAR, file VARCHAR, line BIGINT, column_name VARCHAR, value VARCHAR, reason VARCHAR,
    subject_key VARCHAR
)"""
# Warehouses built before `subject_key` existed gain it (NULL for their old rows) instead of failing to insert.
QUARANTINE_MIGRATE = "ALTER TABLE raw.quarantine ADD COLUMN IF NOT EXISTS subject_key VARCHAR"
DUPLICATE_REASON = "exact duplicate of line {line}"
_DUPLICATE_LIKE = DUPLICATE_REASON.replace("{line}", "%")
# Tables whose loaded rows keep their physical line (`_source_line`): one row per patient, so it costs nothing,
# and the blocking checks on a patient's record (death date, first injection) name file and line.
LINE_NUMBERED = frozenset({"pms_dm"})
# Patients whose record in their source's patient table is quarantined (an extra copy of a good record quarantines
# nobody): the loader holds back their other rows, dbt excludes them from the cohort for data quality.
QUARANTINED_PATIENTS_VIEW = """
CREATE VIEW IF NOT EXISTS raw.{table}_quarantined AS
SELECT subject_key AS subject_id, any_value(file) AS file, min(line) AS line,
       string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reasons
FROM raw.quarantine
WHERE source_table = '{table}' AND subject_key IS NOT NULL AND reason NOT LIKE '{duplicate}'
GROUP BY subject_key"""
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
    unknown_columns: list[str] = field(default_factory=list)  # in the file, not in the contract
    missing_columns: list[str] = field(default_factory=list)  # in the contract (optional), not in the file


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(QUARANTINE_DDL)
    con.execute(QUARANTINE_MIGRATE)
    con.execute(AUDIT_DDL)
    for table in PATIENT_TABLES.values():
        con.execute(QUARANTINED_PATIENTS_VIEW.format(table=table, duplicate=_DUPLICATE_LIKE))


def raw_table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Is there a table or view `raw.<table>` (yet)?"""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
                            "AND table_name = ?", [table]).fetchone()[0])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_header(path: Path) -> list[str]:
    """The header's column names. Fails, naming the file, on an empty file, a non-comma delimiter or bad bytes."""
    with open_source(path) as handle:
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
    line = ", _source_line BIGINT" if schema.table in LINE_NUMBERED else ""
    con.execute(f"CREATE OR REPLACE TABLE raw.{schema.table} ({body}, _source_file VARCHAR{line})")
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
    con: duckdb.DuckDBPyConnection, schema: TableSchema, path: Path, *, key: bytes | None = None,
    held_back: HeldBack | None = None, encoding: str = "utf-8", stats: FileStats | None = None,
) -> LoadResult:
    """Load `path` into `raw.<schema.table>`, replacing it; see the module docstring for the steps.

    `held_back`: patients whose key record was quarantined (their rows here go to quarantine too, with the
    parent's file and line as the reason) and, for PMS, the rule that a row needs its patient in dm.csv.
    `stats`: the file's checksum and record counts when the caller already has them (a PMS file reconciled with
    its manifest), so the file is not read a second time for them.

    The file is scanned once: parsing, typing, rule checks, pseudonyms and line numbers happen in one
    `CREATE TABLE ... AS SELECT` over `read_csv`; rejected rows are then moved to quarantine (cheap: usually none).
    """
    path = Path(path)
    if schema.pseudonymised and key is None:
        raise ValueError(f"{schema.table} holds patient keys: a pseudonym key is required")
    if path.is_symlink() and not path.exists():
        raise IngestError(path, f"dangling link (to {os.readlink(path)})")
    if not path.is_file():
        raise IngestError(path, "file not found")
    try:
        with open_source(path) as handle:
            handle.read(1)
    except OSError as exc:
        raise IngestError(path, f"file cannot be read ({exc.strerror or exc})") from None
    if is_utf8(encoding):
        return _load_file(con, schema, path, path, encoding, key, held_back, stats)
    readable = transcode_to_utf8(path, encoding)  # a temporary UTF-8 copy: same records, same lines
    try:
        # (the copy's own record layout is counted; the audit's checksum is the delivered file's)
        delivered = stats or file_stats(path)
        return _load_file(con, schema, readable, path, encoding, key, held_back, None, delivered)
    finally:
        readable.unlink(missing_ok=True)


def _load_file(con, schema: TableSchema, path: Path, delivered: Path, encoding: str, key: bytes | None,
               held_back: HeldBack | None, stats: FileStats | None,
               delivered_stats: FileStats | None = None) -> LoadResult:
    """`load_file` on `path`, the file as read (UTF-8), for `delivered`, the file as named in the audit (whose
    checksum and size are `delivered_stats`' when it was transcoded)."""
    ensure_raw_schema(con)
    try:
        header = read_header(path)
    except IngestError as exc:  # (named as delivered, not as the temporary UTF-8 copy)
        raise IngestError(delivered, exc.reason, exc.line, exc.column) from None
    warnings = _header_warnings(schema, header, delivered)
    # The checksum and line count run in a thread while DuckDB scans the file (hashlib releases the GIL).
    stats_future = _STATS_POOL.submit(file_stats, path) if stats is None else None
    for w in warnings:
        log.warning(w)

    t = schema.table
    # The header is read positionally as c0..cN: robust to odd names and BOMs, and independent of their case.
    internal = [f"c{i}" for i in range(len(header))]
    src = {n.lower(): f"c{i}" for i, n in enumerate(header)}
    unknown, missing = header_differences(schema, header)
    params: dict[str, object] = {"path": str(path), "columns": read_types(schema, header)}
    pseudonym = None
    if schema.pseudonymised:
        key_column = src.get(schema.pseudonymised[0].lower())
        pseudonym, pseudonym_params = pseudonym_lookup_sql(key_column, _export_patients(con, delivered), key)
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
                {**params, "file": delivered.name},
            )
        except duckdb.Error as exc:
            raise IngestError(delivered, f"unreadable as CSV: {str(exc).splitlines()[0]}") from None

        _collect_rejects(con, rej, internal, header)
        stats = stats_future.result() if stats_future is not None else stats
        _file_level_findings(delivered, stats, encoding)
        _record_layout(con, stats)
        con.execute("DELETE FROM raw.quarantine WHERE source_table = ?", [t])
        # A fresh table's rowids follow file order (insertion order is preserved; inside this transaction they
        # start at an offset, hence `- base`), and rows moved to quarantine below leave gaps, not renumbering.
        base = con.execute(f"SELECT min(rowid) FROM raw.{t}").fetchone()[0] or 0
        move = _Mover(con, t, delivered.name, base)
        key_expr = _key_sql(schema, "r")
        if plan.checks and con.execute(f"SELECT count(*) FROM raw.{t} WHERE _fail IS NOT NULL").fetchone()[0]:
            move(f"""SELECT r.rowid AS rid, NULL::BIGINT AS ref_rid, why.column_name, r._bad_value AS value,
                            why.reason, {key_expr} AS subject_key
                     FROM raw.{t} AS r
                     JOIN (SELECT unnest($columns) AS column_name, unnest($reasons) AS reason,
                                  generate_subscripts($columns, 1) AS i) AS why ON why.i = r._fail
                     WHERE r._fail IS NOT NULL""",
                 {"columns": [c[1] for c in plan.checks], "reasons": [c[2] for c in plan.checks]})
        _move_exact_duplicates(move, t, list(out_cols), _key_sql(schema, "ranked"))
        if held_back is not None:
            _move_held_back(move, t, key_expr, held_back)
        parse_value = "NULL" if schema.pseudonymised else f"left(trim(csv_line, chr(10) || chr(13)), {_MAX_VALUE})"
        keys = _reject_keys(con, schema, header, key)
        con.execute(
            f"""INSERT INTO raw.quarantine
                SELECT $t, $file, line, column_name, {parse_value}, reason, k.subject_key
                FROM _rej LEFT JOIN (SELECT unnest($lines::BIGINT[]) AS line, unnest($keys::VARCHAR[]) AS subject_key)
                     AS k USING (line)
                ORDER BY line""",
            {"t": t, "file": delivered.name, "lines": list(keys), "keys": list(keys.values())},
        )
        if t in LINE_NUMBERED:
            move.number_lines()
        con.execute(f"ALTER TABLE raw.{t} DROP COLUMN _fail")
        con.execute(f"ALTER TABLE raw.{t} DROP COLUMN _bad_value")

        loaded = con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
        reasons = dict(
            con.execute(
                # one line per kind of reason: "exact duplicate of line 7" and "... line 9" are one kind
                "SELECT regexp_replace(reason, ' line [0-9]+', ' line N') AS kind, count(*) FROM raw.quarantine "
                "WHERE source_table = ? GROUP BY kind ORDER BY 2 DESC",
                [t],
            ).fetchall()
        )
        quarantined = sum(reasons.values())
        if delivered_stats is not None:  # the audit names the file as delivered, with its own checksum
            stats = replace(stats, sha256=delivered_stats.sha256, bytes=delivered_stats.bytes)
        rows_read = stats.data_records  # independent of the parser: CSV records counted from the bytes
        con.execute("DELETE FROM raw.load_audit WHERE source_table = ?", [t])
        con.execute(
            "INSERT INTO raw.load_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
            [t, delivered.name, str(delivered.resolve()), stats.sha256, stats.bytes, rows_read, loaded, quarantined],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS _rej; DROP TABLE IF EXISTS _blank; DROP TABLE IF EXISTS _multi; "
                    f"DROP TABLE IF EXISTS {rej}; DROP TABLE IF EXISTS {scan}")
    if rows_read != loaded + quarantined:
        warnings.append(f"{delivered.name}: {rows_read} records but {loaded} loaded + {quarantined} quarantined")
    return LoadResult(
        t, delivered.name, str(delivered.resolve()), stats, rows_read, loaded, quarantined, out_cols, warnings,
        reasons, unknown, missing,
    )


@dataclass(frozen=True)
class HeldBack:
    """Rows of patients whose key record is unusable are held back with their parent's file and line.

    `patients`: patient key -> reason (e.g. "patient quarantined in dm.csv line 7"); `parent`: a raw table every
    row's patient must appear in (PMS: `pms_dm`; a row of a patient absent from it cannot be placed in time)."""

    patients: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    parent_file: str | None = None


def _record_layout(con, stats: FileStats) -> None:
    """Where records and physical lines part: temp tables `_blank(r, rank)` (blank records) and `_multi(r,
    cum_extra)` (records spanning several lines, with the extra lines up to and including them), by record index
    (header = 0); and on `_rej`, each rejected record's data position `n` and physical line. DuckDB numbers a
    rejected record by its record index + 1 (blank records counted, a multi-line record once)."""
    con.execute("CREATE OR REPLACE TEMP TABLE _blank AS SELECT unnest($r::BIGINT[]) AS r, "
                "generate_subscripts($r::BIGINT[], 1) AS rank", {"r": list(stats.blank_records)})
    con.execute("CREATE OR REPLACE TEMP TABLE _multi AS SELECT r, sum(extra) OVER (ORDER BY r) AS cum_extra "
                "FROM (SELECT unnest($r::BIGINT[]) AS r, unnest($e::BIGINT[]) AS extra)",
                {"r": [r for r, _ in stats.multiline_records], "e": [e for _, e in stats.multiline_records]})
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rej AS
           SELECT q.* EXCLUDE (line), q.line - 1 - coalesce(b.rank, 0) AS n,
                  q.line + coalesce(m.cum_extra, 0) AS line
           FROM _rej AS q
           ASOF LEFT JOIN _blank AS b ON q.line - 1 > b.r
           ASOF LEFT JOIN _multi AS m ON q.line - 1 > m.r""")


class _Mover:
    """Moves selected rows of the raw table being loaded to `raw.quarantine`, each with its physical line.

    A selection yields `rid` (the row's rowid), `ref_rid` (another row whose line `{line}` in the reason names, or
    NULL), `column_name`, `value`, `reason` and `subject_key`. A loaded row's line: its ordinal among accepted rows
    -> its position among data records (the parser's rejects before it added) -> its record index (blank records
    before it added) -> its physical line (header, and the extra lines of multi-line records before it added);
    each step an ASOF join on the few places where they part (`_record_layout`)."""

    def __init__(self, con, table: str, file: str, base: int):
        self.con, self.table, self.file, self.base = con, table, file, base

    def _lines(self, source: str, rid: str, out: str) -> str:
        """SQL: `source` with a column `out`, the physical line of the row whose rowid is `rid` (NULL stays NULL)."""
        return f"""(SELECT s3.* EXCLUDE (_n, _r), 1 + s3._r + coalesce(m.cum_extra, 0) AS {out}
                   FROM (SELECT s2.*, s2._n + coalesce(b.rank, 0) AS _r
                         FROM (SELECT s1.*, {rid} - $base + 1 + coalesce(j.j, 0) AS _n
                               FROM {source} AS s1
                               ASOF LEFT JOIN (SELECT n - j AS accepted_before, max(j) AS j FROM _rej GROUP BY 1) AS j
                                    ON {rid} - $base + 1 > j.accepted_before) AS s2
                         ASOF LEFT JOIN (SELECT r - rank AS data_before, max(rank) AS rank FROM _blank GROUP BY 1) AS b
                              ON s2._n > b.data_before) AS s3
                   ASOF LEFT JOIN _multi AS m ON s3._r > m.r)"""

    def number_lines(self) -> None:
        """Store each loaded row's physical line in `_source_line` (small patient tables only: checks on them
        name the file and line of the patient's record)."""
        self.con.execute(f"ALTER TABLE raw.{self.table} ADD COLUMN _source_line BIGINT")
        located = self._lines(f"(SELECT rowid AS rid FROM raw.{self.table})", "s1.rid", "line")
        self.con.execute(
            f"""UPDATE raw.{self.table} AS r SET _source_line = l.line FROM {located} AS l WHERE r.rowid = l.rid""",
            {"base": self.base})

    def __call__(self, selection: str, params: dict | None = None) -> int:
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP TABLE _moving AS {selection}", params or {})
        moved = con.execute("SELECT count(*) FROM _moving").fetchone()[0]
        if moved:
            located = self._lines("_moving", "s1.rid", "line")
            referenced = self._lines(located, "s1.ref_rid", "ref_line")
            con.execute(
                f"""INSERT INTO raw.quarantine
                    SELECT $t, $file, line, column_name, value,
                           replace(reason, '{{line}}', coalesce(ref_line::VARCHAR, '?')), subject_key
                    FROM {referenced} ORDER BY line""",
                {"t": self.table, "file": self.file, "base": self.base},
            )
            con.execute(f"DELETE FROM raw.{self.table} WHERE rowid IN (SELECT rid FROM _moving)")
        con.execute("DROP TABLE _moving")
        return moved


def _key_sql(schema: TableSchema, alias: str) -> str:
    return f"CAST({alias}.{_q(schema.key_column)} AS VARCHAR)"


def _move_exact_duplicates(move: _Mover, table: str, columns: list[str], key: str) -> int:
    """Every copy of a record after its first goes to quarantine as "exact duplicate of line N" (N = the first).

    Records are compared as parsed (every declared and extra column; the file name aside). A hash pass finds the
    candidate groups, so only rows whose hash repeats are compared field by field."""
    cols = ", ".join(_q(c) for c in columns)
    return move(
        f"""WITH repeated AS (SELECT h FROM (SELECT hash({cols}) AS h FROM raw.{table}) GROUP BY h HAVING count(*) > 1),
                 candidates AS (SELECT rowid AS rid, * FROM raw.{table} WHERE hash({cols}) IN (SELECT h FROM repeated)),
                 ranked AS (SELECT rid, min(rid) OVER (PARTITION BY {cols}) AS first_rid, * FROM candidates)
            SELECT rid, first_rid AS ref_rid, NULL::VARCHAR AS column_name, {key} AS value,
                   $reason AS reason, {key} AS subject_key
            FROM ranked WHERE rid <> first_rid""",
        {"reason": DUPLICATE_REASON},
    )


def _move_held_back(move: _Mover, table: str, key: str, held: HeldBack) -> int:
    moved = 0
    if held.patients:
        moved += move(
            f"""SELECT r.rowid AS rid, NULL::BIGINT AS ref_rid, NULL::VARCHAR AS column_name, {key} AS value,
                       h.reason, {key} AS subject_key
                FROM raw.{table} AS r
                JOIN (SELECT unnest($keys::VARCHAR[]) AS k, unnest($reasons::VARCHAR[]) AS reason) AS h
                     ON {key} = h.k""",
            {"keys": list(held.patients), "reasons": list(held.patients.values())},
        )
    if held.parent:
        parent_key = f"CAST(p.{_q(by_table(held.parent).key_column)} AS VARCHAR)"
        moved += move(
            f"""SELECT r.rowid AS rid, NULL::BIGINT AS ref_rid, NULL::VARCHAR AS column_name, {key} AS value,
                       $reason AS reason, {key} AS subject_key
                FROM raw.{table} AS r
                WHERE {key} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM raw.{held.parent} AS p WHERE {parent_key} = {key})""",
            {"reason": f"patient has no record in {held.parent_file or held.parent}"},
        )
    return moved


def _reject_keys(con, schema: TableSchema, header: list[str], key: bytes | None) -> dict[int, str]:
    """The patient key of each parser-rejected record (line -> key), read from its text: so that a rejected key
    record can still hold back its patient's other rows. Rejects are few; they are parsed here, not in SQL."""
    lowered = [h.lower() for h in header]
    if schema.key_column.lower() not in lowered:
        return {}
    index = lowered.index(schema.key_column.lower())
    out: dict[int, str] = {}
    for line, text in con.execute("SELECT line, csv_line FROM _rej").fetchall():
        try:
            fields = next(csv.reader([text or ""]))
        except (csv.Error, StopIteration):
            continue
        value = fields[index].strip() if index < len(fields) else ""
        if not value:
            continue
        if schema.pseudonymised:
            out[line] = pseudonymise([value], key)[0]
        else:
            try:
                out[line] = str(int(value))
            except ValueError:
                continue
    return out


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def transcode_to_utf8(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a file delivered in another encoding (e.g. cp949 from a Korean EDC), streamed; a byte
    sequence that is not valid in the declared encoding is a file-level error naming its line."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        raise IngestError(path, f"unknown encoding {encoding!r} declared for this file") from None
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".utf8.csv")
    out, lines = Path(name), 0
    try:
        with open_source(path) as source, os.fdopen(handle, "wb") as target:
            for block in iter(lambda: source.read(1 << 22), b""):
                try:
                    target.write(decoder.decode(block).encode("utf-8"))
                except UnicodeDecodeError as exc:
                    line = lines + block.count(b"\n", 0, exc.start) + 1
                    raise IngestError(path, f"not valid {encoding} (the declared encoding) from this line",
                                      line=line) from None
                lines += block.count(b"\n")
            target.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def _guess_encoding(path: Path) -> str:
    """What the bytes decode as, to name in the error: Korean EDC exports are often CP949 (EUC-KR)."""
    with open_source(path) as handle:
        sample = handle.read(1 << 24)
    fits = []
    for candidate in ("cp949", "cp1252"):
        try:
            sample.decode(candidate)
        except UnicodeDecodeError:
            continue
        fits.append(candidate)
    return " or ".join(fits) or "latin-1"


def _file_level_findings(path: Path, stats: FileStats, encoding: str) -> None:
    """Problems of the file as a whole: no row-level quarantine could account for them honestly."""
    if stats.unterminated_quote_line is not None:
        raise IngestError(path, "a quoted field opened on this line is never closed (the rest of the file would be "
                          "swallowed into one record)", line=stats.unterminated_quote_line)
    if stats.invalid_utf8_line is not None and is_utf8(encoding):
        guess = _guess_encoding(path)
        raise IngestError(path, f"not valid UTF-8 from this line; the bytes decode as {guess} - a PMS export may "
                          'declare its encoding in manifest.json ("encoding": "cp949")', line=stats.invalid_utf8_line)


def header_differences(schema: TableSchema, header: list[str]) -> tuple[list[str], list[str]]:
    """(columns of the file not in the contract, columns of the contract not in the file), by name, any case."""
    present = {n.lower() for n in header}
    declared = {c.name.lower() for c in schema.columns}
    return ([n for n in header if n.lower() not in declared],
            [c.name for c in schema.columns if c.name.lower() not in present])


def _header_warnings(schema: TableSchema, header: list[str], path: Path) -> list[str]:
    """Fail on a missing required column; warn about absent optional and unknown extra columns."""
    unknown, missing = header_differences(schema, header)
    for c in schema.columns:
        if c.required and c.name in missing:
            raise IngestError(path, "required column missing from the header", line=1, column=c.name)
    warnings = []
    if missing:
        warnings.append(f"{path.name}: optional columns absent, loaded as NULL: {', '.join(missing)}")
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
