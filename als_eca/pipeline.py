"""Run the whole asset graph in-process (what `als-eca run` and `make demo` do)."""

from __future__ import annotations

import os
from pathlib import Path


def _export(name: str, value: Path | None) -> None:
    # Settings are read from the environment by every component (loader, dbt profile, analysis), so CLI
    # options are applied by exporting them once, here.
    if value is not None:
        os.environ[name] = str(Path(value).resolve())


def run_pipeline(proact_dir: Path | None = None, pms_dir: Path | None = None, warehouse: Path | None = None) -> bool:
    """Materialise every asset and run every check; print a summary. Returns True when the run succeeded."""
    _export("ALS_ECA_PROACT_DIR", proact_dir)
    _export("ALS_ECA_PMS_DIR", pms_dir)
    _export("ALS_ECA_WAREHOUSE", warehouse)

    import dagster as dg

    from als_eca.settings import get_settings
    from orchestration.definitions import build_definitions

    settings = get_settings()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    defs = build_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)

    materialised = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    checks = [e.event_specific_data.asset_check_evaluation for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = [c for c in checks if not c.passed]
    print(f"\nrun {'succeeded' if result.success else 'FAILED'}: {len(materialised)} assets materialised, "
          f"{len(checks) - len(failed)}/{len(checks)} checks passed")
    for c in failed:
        print(f"  check failed: {c.asset_key.to_user_string()} {c.check_name} ({c.severity.value})")
    print(f"warehouse: {settings.warehouse}")
    return result.success
