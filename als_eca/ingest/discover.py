"""Finding the source files: PRO-ACT forms under any of their real-world names, and the newest PMS export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from als_eca.ingest.schemas import PATIENT_TABLES, PMS_TABLES, PROACT_TABLES, TableSchema

_PREFIXES = ("f_proact_", "proact_")
_EXPORT = re.compile(r"^pms_export_(\d{4}-\d{2}-\d{2})$")


def proact_form_of(file_name: str) -> str | None:
    """`PROACT_ALSFRS.csv`, `alsfrs.csv`, `F_PROACT_ALSFRS.CSV`, `AlsHistory.csv` -> the form name, else None."""
    stem = file_name.lower()
    if not stem.endswith(".csv"):
        return None
    stem = stem[: -len(".csv")]
    for prefix in _PREFIXES:
        if stem.startswith(prefix):
            stem = stem[len(prefix):]
            break
    forms = {t.name.lower(): t.name for t in PROACT_TABLES}
    return forms.get(stem)


@dataclass(frozen=True)
class SourceFile:
    schema: TableSchema
    path: Path | None  # None: the file is absent (allowed only for optional files)
    expected: Path | None = None  # where it was looked for (named in messages when it is absent)

    @property
    def absent_message(self) -> str:
        kind = "required" if self.schema.required_file else "optional"
        return f"{kind} {self.schema.source.replace('proact', 'PRO-ACT').replace('pms', 'PMS')} file is missing"


def _patient_table_first(sources: list[SourceFile]) -> list[SourceFile]:
    """The table defining a source's patients is loaded first: the others hold back rows of its quarantined
    patients (stable otherwise: the contract's order)."""
    return sorted(sources, key=lambda s: s.schema.table != PATIENT_TABLES[s.schema.source])


class DiscoveryError(Exception):
    pass


def discover_proact(directory: Path) -> list[SourceFile]:
    """One entry per PRO-ACT form; two files naming the same form is an error (which one is meant?)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DiscoveryError(f"PRO-ACT folder {directory} does not exist (set ALS_ECA_PROACT_DIR)")
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        form = proact_form_of(path.name)
        if form is None or not path.is_file():
            continue
        if form in found:
            raise DiscoveryError(f"two files for PRO-ACT form {form}: {found[form].name} and {path.name}")
        found[form] = path
    return _patient_table_first(
        [SourceFile(t, found.get(t.name), directory / f"PROACT_{t.name}.csv") for t in PROACT_TABLES])


def newest_pms_export(directory: Path) -> Path:
    """The `pms_export_YYYY-MM-DD` folder with the latest cut-off date (exports are cumulative)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DiscoveryError(f"PMS folder {directory} does not exist (set ALS_ECA_PMS_DIR)")
    exports = sorted((m.group(1), p) for p in directory.iterdir() if p.is_dir() and (m := _EXPORT.match(p.name)))
    if not exports:
        raise DiscoveryError(f"no pms_export_YYYY-MM-DD folder in {directory}")
    return exports[-1][1]


def discover_pms(directory: Path) -> list[SourceFile]:
    export = newest_pms_export(directory)
    files = {p.name.lower(): p for p in export.iterdir() if p.is_file()}
    return _patient_table_first(
        [SourceFile(t, files.get(f"{t.name}.csv"), export / f"{t.name}.csv") for t in PMS_TABLES])
