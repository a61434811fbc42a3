"""A sensor that notices new source data: a new `pms_export_*` delivery, or a changed PRO-ACT or PMS file.

Change is decided by the same content fingerprint as `als-eca run`'s "up to date" (orchestration/run_state.py): the
cursor keeps each folder's source prints, so a file is re-hashed only when its size or modification time changed,
and a file touched without being changed is not news.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from als_eca.settings import Settings
from orchestration.jobs import refresh_all, refresh_pms
from orchestration.resources import SourcesResource, WarehouseResource
from orchestration.run_state import content, source_prints, up_to_date

GROUPS = {"raw_proact": "proact", "raw_pms": "pms"}  # asset group -> cursor entry


def changed_sources(cursor: dict, proact_dir: Path, pms_dir: Path) -> tuple[list[str], dict]:
    """Which source groups changed since the cursor (`raw_proact`, `raw_pms`), and the new cursor."""
    folders = {"proact": Path(proact_dir), "pms": Path(pms_dir)}
    new_cursor = {name: source_prints(folder, cursor.get(name)) for name, folder in folders.items()}
    changed = [group for group, name in GROUPS.items()
               if content(new_cursor[name]) != content(cursor.get(name) or {})]
    return changed, new_cursor


@dg.sensor(
    name="new_source_data",
    jobs=[refresh_all, refresh_pms],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches refresh_pms for a new PMS export (or a changed PMS file), refresh_all when a PRO-ACT file "
                "changed.",
)
def new_source_data(context: dg.SensorEvaluationContext, sources: SourcesResource, warehouse: WarehouseResource):
    cursor = json.loads(context.cursor) if context.cursor else {}
    changed, new_cursor = changed_sources(cursor, Path(sources.proact_dir), Path(sources.pms_dir))
    settings = Settings(proact_dir=Path(sources.proact_dir), pms_dir=Path(sources.pms_dir),
                        warehouse=Path(warehouse.path), snapshot_dir=warehouse.snapshot, pms_as_of=sources.as_of)
    if not cursor and (last_run := up_to_date(settings)):
        # First evaluation, and the warehouse was built from exactly these files (e.g. `make demo`, then `make ui`):
        # they are the baseline, not news.
        yield dg.SkipReason(f"baseline: the warehouse is up to date with these files (run {last_run})")
    elif changed:
        job = refresh_pms if changed == ["raw_pms"] else refresh_all
        everything = {name: content(prints) for name, prints in new_cursor.items()}
        key = hashlib.sha256(json.dumps(everything, sort_keys=True).encode()).hexdigest()[:16]
        yield dg.RunRequest(run_key=key, job_name=job.name, tags={"trigger": ",".join(changed)})
    else:
        yield dg.SkipReason("no new PMS export and no changed PRO-ACT or PMS file")
    context.update_cursor(json.dumps(new_cursor, sort_keys=True))


sensors = [new_source_data]
