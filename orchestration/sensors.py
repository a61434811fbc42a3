"""A sensor that notices new source data: a new `pms_export_*` delivery, or a changed PRO-ACT file.

The cursor remembers the newest PMS export and a fingerprint of every PRO-ACT file. A file is re-hashed only when
its size or modification time changed, so a 140 MB LABS file is not read on every tick.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from als_eca.ingest import discover
from als_eca.ingest.checksum import sha256_file
from als_eca.settings import get_settings
from orchestration.run_state import up_to_date


def newest_pms_export(pms_dir: Path) -> str | None:
    """The folder the loader would take (the newest dated delivery), or None when there is none yet."""
    try:
        return discover.newest_pms_export(pms_dir).name
    except discover.DiscoveryError:
        return None


def proact_fingerprints(proact_dir: Path, previous: dict[str, dict]) -> dict[str, dict]:
    """{file name: {size, mtime_ns, sha256}}; sha256 reused from `previous` while size and mtime are unchanged."""
    prints = {}
    # the download as a folder of CSV (or .csv.gz) files, or as one .zip archive
    candidates = [proact_dir] if proact_dir.is_file() else sorted(proact_dir.glob("*")) if proact_dir.is_dir() else []
    for path in candidates:
        if not path.is_file() or not path.name.lower().endswith((".csv", ".csv.gz", ".zip")):
            continue
        stat = path.stat()
        old = previous.get(path.name, {})
        same = old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns
        prints[path.name] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": old["sha256"] if same and "sha256" in old else sha256_file(path),
        }
    return prints


def changed_sources(cursor: dict, proact_dir: Path, pms_dir: Path) -> tuple[list[str], dict]:
    """Which source groups changed since the cursor (`raw_proact`, `raw_pms`), and the new cursor."""
    new_cursor = {
        "pms_export": newest_pms_export(pms_dir),
        "proact": proact_fingerprints(proact_dir, cursor.get("proact", {})),
    }
    changed = []
    strip = lambda prints: {k: v["sha256"] for k, v in prints.items()}  # noqa: E731
    if strip(new_cursor["proact"]) != strip(cursor.get("proact", {})):
        changed.append("raw_proact")
    if new_cursor["pms_export"] != cursor.get("pms_export"):
        changed.append("raw_pms")
    return changed, new_cursor


@dg.sensor(
    name="new_source_data",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a run of everything downstream of a new PMS export or a changed PRO-ACT file.",
)
def new_source_data(context: dg.SensorEvaluationContext):
    settings = get_settings()
    cursor = json.loads(context.cursor) if context.cursor else {}
    changed, new_cursor = changed_sources(cursor, settings.proact_dir, settings.pms_dir)
    if not cursor and (last_run := up_to_date(settings)):
        # First evaluation, and the warehouse was built from exactly these files (e.g. `make demo`, then `make ui`):
        # they are the baseline, not news.
        yield dg.SkipReason(f"baseline: the warehouse is up to date with these files (run {last_run})")
    elif changed:
        graph = context.repository_def.asset_graph
        selection = sorted(dg.AssetSelection.groups(*changed).downstream().resolve(graph))
        key = f"{new_cursor['pms_export']}:" + hashlib.sha256(
            json.dumps({k: v["sha256"] for k, v in new_cursor["proact"].items()}, sort_keys=True).encode()
        ).hexdigest()[:16]
        yield dg.RunRequest(run_key=key, asset_selection=selection, tags={"trigger": ",".join(changed)})
    else:
        yield dg.SkipReason("no new PMS export and no changed PRO-ACT file")
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))


sensors = [new_source_data]
