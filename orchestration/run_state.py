"""What a run depends on, and whether the warehouse is up to date with it: the one fingerprint that `als-eca run`
(skip when nothing changed) and the new-source-data sensor (start a run when something did) both use.

Sources are fingerprinted by content: every file under the PRO-ACT and PMS folders by its sha256, re-hashed only
when its size or modification time changed since the prints it is compared with (so a 140 MB LABS file is not read
on every sensor tick, and a file touched without being changed is not a change). Code is fingerprinted by the
content of every Python, SQL, YAML and seed file of the pipeline.

The record lives in the warehouse itself (`ops.run_state`), so every run path sees it. Any connection that may write
the warehouse clears it when it opens (the Dagster warehouse resource does this for every step of every run: CLI,
UI, schedule, sensor), and only `als-eca run` writes it, after a run has fully succeeded. A run that fails midway
therefore leaves no record, and the next `als-eca run` rebuilds."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import duckdb

from als_eca.ingest.checksum import sha256_file
from als_eca.ingest.discover import DiscoveryError, newest_pms_export
from als_eca.settings import REPO_ROOT, Settings

_DDL = ("CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE IF NOT EXISTS ops.run_state "
        "(run_id VARCHAR, fingerprint VARCHAR, sources VARCHAR, finished_at TIMESTAMP, base VARCHAR)")

CODE_DIRS = ("cli", "als_eca", "analytics", "orchestration", "expectations", "dbt_project/models",
             "dbt_project/macros", "dbt_project/seeds")

Prints = dict[str, dict]  # {file path: {"size", "mtime_ns", "sha256"}}


def source_prints(folder: Path, previous: Prints | None = None) -> Prints:
    """Every file under `folder` (or `folder` itself, a .zip download) by content; a sha256 from `previous` is
    reused while the file's size and modification time are unchanged. Hidden files (a copy in progress) are not
    sources."""
    folder, previous = Path(folder), previous or {}
    if folder.is_file():
        files = [folder]
    else:  # (a folder that does not exist yields nothing)
        files = sorted(p for p in folder.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    prints = {}
    for path in files:
        stat, old = path.stat(), previous.get(str(path), {})
        same = old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns and "sha256" in old
        prints[str(path)] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                             "sha256": old["sha256"] if same else sha256_file(path)}
    return prints


def content(prints: Prints) -> dict[str, str]:
    """The part of the prints that says whether something changed: path -> sha256."""
    return {path: p["sha256"] for path, p in prints.items()}


def code_digest(repo_root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((repo_root / folder).rglob("*")):
            if path.suffix in (".py", ".sql", ".yml", ".csv") and "target" not in path.parts:
                digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_fingerprint(settings: Settings, previous: Prints | None = None) -> tuple[str, Prints, str]:
    """(fingerprint, source prints, base fingerprint) of what a run's result depends on: the sources by content,
    the code, the study spec's content, the warehouse it writes and the PMS export it loads."""
    prints = {**source_prints(settings.proact_dir, previous), **source_prints(settings.pms_dir, previous)}
    base = base_fingerprint(settings, prints)
    digest = hashlib.sha256(json.dumps(content(prints), sort_keys=True).encode())
    digest.update(base.encode())
    digest.update(pms_cut(settings).encode())
    return digest.hexdigest(), prints, base


def pms_cut(settings: Settings) -> str:
    """The PMS export a run loads (its folder name; empty when there is none): an earlier data cut (ALS_ECA_PMS_AS_OF)
    is another result from the same files, and an as-of date on or after the newest export is the same run as
    none."""
    try:
        return newest_pms_export(settings.pms_dir, settings.pms_as_of).name
    except DiscoveryError:  # (no export: the run itself fails, naming the folder)
        return ""


def base_fingerprint(settings: Settings, prints: Prints) -> str:
    """What a run depends on except the PMS exports: the PRO-ACT files by content, the code, the study spec and the
    warehouse. When it is the last successful run's and only the PMS exports changed, a run rebuilds only what
    depends on the PMS data (the refresh_pms job)."""
    proact = str(Path(settings.proact_dir))
    digest = hashlib.sha256(json.dumps({k: v for k, v in content(prints).items() if k.startswith(proact)},
                                       sort_keys=True).encode())
    digest.update(code_digest(settings.repo_root).encode())
    digest.update(str(settings.warehouse).encode())
    if Path(settings.study).is_file():  # (a missing spec fails the run's preflight)
        digest.update(Path(settings.study).read_bytes())
    return digest.hexdigest()


def invalidate(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse is about to change: whatever run it was up to date with no longer describes it."""
    con.execute(_DDL)
    con.execute("DELETE FROM ops.run_state")


def record_success(warehouse: Path, run_id: str, fingerprint: str, prints: Prints, base: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP TABLE IF EXISTS ops.run_state")  # (a record of an older layout)
        invalidate(con)
        con.execute("INSERT INTO ops.run_state VALUES (?, ?, ?, now(), ?)",
                    [run_id, fingerprint, json.dumps(prints), base])


class LastRun(NamedTuple):
    run_id: str
    fingerprint: str
    prints: Prints
    base: str | None  # base_fingerprint


def last_success(warehouse: Path) -> LastRun | None:
    """The last fully successful run, if nothing has written the warehouse since."""
    if not Path(warehouse).is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute("SELECT run_id, fingerprint, sources, base FROM ops.run_state LIMIT 1").fetchone()
    except duckdb.Error:  # no record yet, an older warehouse, or a run holding it: not up to date
        return None
    return LastRun(row[0], row[1], json.loads(row[2] or "{}"), row[3]) if row else None


class RunCheck(NamedTuple):
    previous: str | None  # the last successful run's id if nothing it depended on changed since, else None
    fingerprint: str
    prints: Prints
    base: str  # base_fingerprint
    only_pms_changed: bool  # since that run only the PMS exports (or the cut) changed: refresh_pms suffices


def check(settings: Settings) -> RunCheck:
    """Where the warehouse stands against the current inputs, computed once (the record read once, files
    re-hashed only when their size or modification time changed since the last successful run)."""
    last = last_success(settings.warehouse)
    fingerprint, prints, base = inputs_fingerprint(settings, last.prints if last else None)
    same = bool(last and last.fingerprint == fingerprint)
    return RunCheck(last.run_id if same else None, fingerprint, prints, base,
                    bool(last and not same and last.base == base))


def up_to_date(settings: Settings) -> str | None:
    """The id of the last successful run if nothing has changed since (see `check`)."""
    return check(settings).previous
