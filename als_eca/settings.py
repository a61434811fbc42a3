"""Where the data and the warehouse are: environment variables with defaults inside the repository."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"  # all SQL: models, tests, seeds (the exclusion steps among them)

# DuckDB names a database after its file ("raw.duckdb" -> catalog "raw"); a catalog named like one of the
# warehouse's schemas (or DuckDB's own) makes every `raw.<table>` reference ambiguous.
RESERVED_WAREHOUSE_NAMES = frozenset({"raw", "staging", "intermediate", "marts", "reference", "main", "system",
                                      "temp", "memory"})


class SettingsError(ValueError):
    """A setting that cannot work, named with the variable that set it."""


@dataclass(frozen=True)
class Settings:
    proact_dir: Path  # ALS_ECA_PROACT_DIR: the PRO-ACT download (real or generated)
    pms_dir: Path  # ALS_ECA_PMS_DIR: a folder of pms_export_YYYY-MM-DD deliveries
    warehouse: Path  # ALS_ECA_WAREHOUSE: the DuckDB file
    snapshot_dir: Path  # ALS_ECA_SNAPSHOT_DIR: the analysts' read-only copy of the marts (DuckDB + Parquet)
    study: Path = REPO_ROOT / "studies" / "nam2023.yml"  # ALS_ECA_STUDY: the study spec (als_eca/study/spec.py)
    repo_root: Path = REPO_ROOT
    pms_as_of: date | None = None  # ALS_ECA_PMS_AS_OF: load the newest PMS export on or before it (an earlier cut)


def _path(variable: str, default: str) -> Path:
    path = Path(os.environ.get(variable) or default).expanduser()
    return path if path.is_absolute() else (REPO_ROOT / path)


def get_settings(proact: Path | None = None, pms: Path | None = None, warehouse: Path | None = None,
                 study: Path | None = None, pms_as_of: date | str | None = None) -> Settings:
    """The settings now (not at import, so a changed environment is seen by the next run): an argument given here
    (`als-eca run --proact ...`) beats its environment variable, which beats the default."""
    warehouse = Path(warehouse).resolve() if warehouse is not None else _path("ALS_ECA_WAREHOUSE",
                                                                              "data/warehouse.duckdb")
    if warehouse.stem.lower() in RESERVED_WAREHOUSE_NAMES:
        raise SettingsError(
            f"ALS_ECA_WAREHOUSE={warehouse}: DuckDB would name the database '{warehouse.stem}', the name of a schema "
            f"in it ({', '.join(sorted(RESERVED_WAREHOUSE_NAMES))} are taken); choose another file name, "
            "e.g. warehouse.duckdb")
    return Settings(
        proact_dir=Path(proact).resolve() if proact is not None else _path("ALS_ECA_PROACT_DIR", "data/sample/proact"),
        pms_dir=Path(pms).resolve() if pms is not None else _path("ALS_ECA_PMS_DIR", "data/sample/pms"),
        warehouse=warehouse,
        # By default next to the warehouse, so a second warehouse never overwrites another one's snapshot.
        snapshot_dir=_path("ALS_ECA_SNAPSHOT_DIR", str(warehouse.parent / "snapshot")),
        study=Path(study).resolve() if study is not None else _path("ALS_ECA_STUDY", "studies/nam2023.yml"),
        pms_as_of=_as_of(pms_as_of if pms_as_of is not None else os.environ.get("ALS_ECA_PMS_AS_OF") or None),
    )


def _as_of(value: date | str | None) -> date | None:
    """A data cut's date, YYYY-MM-DD; a malformed one is refused here, before anything runs."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"ALS_ECA_PMS_AS_OF / --pms-as-of {value!r}: not a date YYYY-MM-DD") from None


def alert_webhook() -> str | None:
    """ALS_ECA_ALERT_WEBHOOK: where failure alerts are POSTed (als_eca/alerts.py); unset, they are only recorded in
    `ops.alerts`. Read when an alert is sent, not when the code location loads, so setting it needs no reload."""
    return os.environ.get("ALS_ECA_ALERT_WEBHOOK") or None


def _readable_dir(path: Path, what: str, variable: str) -> None:
    if not path.exists():
        raise SettingsError(f"{what} {path} does not exist (--{variable.split('_')[-2].lower()} or {variable})")
    if not path.is_dir():
        raise SettingsError(f"{what} {path} is not a folder ({variable})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise SettingsError(f"{what} {path} is not readable ({variable})")


def preflight(settings: Settings) -> None:
    """Check every path a run needs before anything is written: one line naming the path, never a traceback."""
    if not (settings.proact_dir.is_file() and settings.proact_dir.suffix.lower() == ".zip"):  # (a zip of it works)
        _readable_dir(settings.proact_dir, "PRO-ACT folder", "ALS_ECA_PROACT_DIR")
    _readable_dir(settings.pms_dir, "PMS folder", "ALS_ECA_PMS_DIR")
    warehouse = settings.warehouse
    if warehouse.is_dir():
        raise SettingsError(f"warehouse {warehouse} is a folder, not a DuckDB file (--warehouse or ALS_ECA_WAREHOUSE)")
    parent = next((p for p in (warehouse.parent, *warehouse.parent.parents) if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SettingsError(f"warehouse {warehouse}: its folder cannot be created or written "
                            "(--warehouse or ALS_ECA_WAREHOUSE)")
    if warehouse.exists() and not os.access(warehouse, os.R_OK | os.W_OK):
        raise SettingsError(f"warehouse {warehouse} is not readable and writable (--warehouse or ALS_ECA_WAREHOUSE)")
