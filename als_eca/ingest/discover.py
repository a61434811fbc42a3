"""Finding the source files: PRO-ACT forms under any of their real-world names, and the newest PMS export."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from als_eca.ingest.schemas import PATIENT_TABLES, PMS_TABLES, PROACT_TABLES, TableSchema

_PREFIXES = ("f_proact_", "proact_")
_EXPORT = re.compile(r"^pms_export_(\d{4}-\d{2}-\d{2})$")


def proact_form_of(file_name: str) -> str | None:
    """`PROACT_ALSFRS.csv`, `alsfrs.csv`, `F_PROACT_ALSFRS.CSV`, `AlsHistory.csv` -> the form name, else None."""
    stem = file_name.lower()
    for suffix in (".csv.gz", ".csv"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        return None
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


def unpacked_download(archive: Path) -> Path:
    """A `.zip` of the download, unpacked once per content into the temporary folder; the folder inside it that
    holds the most PRO-ACT forms (archives often wrap the files in a folder of their own)."""
    import tempfile
    import zipfile

    from als_eca.ingest.checksum import sha256_file

    target = Path(tempfile.gettempdir()) / f"als-eca-proact-{sha256_file(archive)[:16]}"
    if not (target / ".complete").exists():
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        except zipfile.BadZipFile as exc:
            raise DiscoveryError(f"{archive}: not a readable zip archive ({exc})") from None
        (target / ".complete").touch()  # (an interrupted unpacking is redone)
    folders = {p.parent for p in target.rglob("*") if proact_form_of(p.name)}
    if not folders:
        raise DiscoveryError(f"{archive}: no PRO-ACT form in the archive")
    return max(folders, key=lambda d: (sum(1 for p in d.iterdir() if proact_form_of(p.name)), -len(d.parts)))


def discover_proact(directory: Path) -> list[SourceFile]:
    """One entry per PRO-ACT form; two files naming the same form is an error (which one is meant?). The download
    may also be given as its `.zip` archive."""
    directory = Path(directory)
    if directory.is_file() and directory.suffix.lower() == ".zip":
        directory = unpacked_download(directory)
    if not directory.is_dir():
        raise DiscoveryError(f"PRO-ACT folder {directory} does not exist (set ALS_ECA_PROACT_DIR)")
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        form = proact_form_of(path.name)
        # (a dangling link or an unreadable file is found, and fails its load naming the path: never "absent")
        if form is None or path.is_dir():
            continue
        if form in found:
            raise DiscoveryError(f"two files for PRO-ACT form {form}: {found[form].name} and {path.name}")
        found[form] = path
    return _patient_table_first(
        [SourceFile(t, found.get(t.name), directory / f"PROACT_{t.name}.csv") for t in PROACT_TABLES])


def newest_pms_export(directory: Path, as_of: date | None = None) -> Path:
    """The `pms_export_YYYY-MM-DD` folder with the latest cut-off date (exports are cumulative); with `as_of`, the
    latest on or before that date (an earlier data cut: `als-eca run --pms-as-of`)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DiscoveryError(f"PMS folder {directory} does not exist (set ALS_ECA_PMS_DIR)")
    exports = sorted((m.group(1), p) for p in directory.iterdir() if p.is_dir() and (m := _EXPORT.match(p.name)))
    if not exports:
        raise DiscoveryError(f"no pms_export_YYYY-MM-DD folder in {directory}")
    if as_of is None:
        return exports[-1][1]
    # (ISO dates compare as text; the folder pattern guarantees the form)
    earlier = [p for d, p in exports if d <= as_of.isoformat()]
    if not earlier:
        raise DiscoveryError(f"no PMS export on or before {as_of.isoformat()} in {directory} (exports found: "
                             f"{', '.join(d for d, _ in exports)}; ALS_ECA_PMS_AS_OF / --pms-as-of)")
    return earlier[-1]


def discover_pms(directory: Path, as_of: date | None = None) -> list[SourceFile]:
    export = newest_pms_export(directory, as_of)
    return _patient_table_first(pms_sources(export))


def pms_sources(export: Path) -> list[SourceFile]:
    """The domain files of one delivery folder (`dm.csv` or `dm.csv.gz`, any case)."""
    files = {p.name.lower(): p for p in export.iterdir() if not p.is_dir()}
    out = []
    for t in PMS_TABLES:
        found = [files[n] for n in (f"{t.name}.csv", f"{t.name}.csv.gz") if n in files]
        if len(found) > 1:
            raise DiscoveryError(f"two files for PMS domain {t.name} in {export}: {found[0].name} and {found[1].name}")
        out.append(SourceFile(t, found[0] if found else None, export / f"{t.name}.csv"))
    return out
