"""PMS export manifests: every file's row count and checksum must agree with what was delivered."""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path

from als_eca.ingest.checksum import FileStats, file_stats
from als_eca.ingest.loader import IngestError


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    rows_declared: int
    rows_found: int
    sha256_declared: str
    sha256_found: str

    @property
    def ok(self) -> bool:
        return self.rows_declared == self.rows_found and self.sha256_declared == self.sha256_found


def read_manifest(export_dir: Path) -> dict:
    path = Path(export_dir) / "manifest.json"
    if not path.is_file():
        raise IngestError(path, "manifest.json missing from the PMS export")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        for entry in files.values():
            int(entry["rows"]), str(entry["sha256"])
        codecs.lookup(manifest.get("encoding", "utf-8"))
    except LookupError:
        raise IngestError(path, f"manifest declares an unknown encoding {manifest.get('encoding')!r}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise IngestError(path, f"manifest is not valid ({type(exc).__name__}: {exc})") from None
    return manifest


def export_encoding(export_dir: Path) -> str:
    """The encoding the export declares for its files (`"encoding": "cp949"`), UTF-8 by default."""
    return read_manifest(export_dir).get("encoding", "utf-8")


def reconcile(export_dir: Path, file_name: str, stats: FileStats | None = None) -> ManifestEntry:
    """Check one delivered file (its `stats`, counted here when not given) against the manifest; raises
    IngestError naming the file on any disagreement."""
    export_dir = Path(export_dir)
    manifest = read_manifest(export_dir)
    entry = manifest["files"].get(file_name)
    path = export_dir / file_name
    if entry is None:
        raise IngestError(path, f"not listed in {export_dir.name}/manifest.json")
    stats = stats or file_stats(path)
    rows = stats.data_records  # CSV records, not lines: a quoted field may hold a line break
    found = ManifestEntry(file_name, int(entry["rows"]), rows, str(entry["sha256"]).lower(), stats.sha256)
    if found.rows_declared != found.rows_found:
        raise IngestError(path, f"manifest declares {found.rows_declared} rows, the file has {found.rows_found}")
    if found.sha256_declared != found.sha256_found:
        raise IngestError(path, f"sha256 {found.sha256_found} differs from the manifest's {found.sha256_declared}")
    return found
