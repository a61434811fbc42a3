"""Provenance of a run: which data, code and study spec produced its results - recorded in results.json and the
report's appendix, so a reader can tell exactly how a number was made (and whether the data were synthetic)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from als_eca.settings import REPO_ROOT

#: The packages whose versions decide the numbers (statistics, SQL, orchestration).
PACKAGES = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "numpy", "pandas", "scipy", "matplotlib",
            "pydantic")
#: What `als-eca generate` writes beside the files it generates (synthetic.generator.GENERATION_FILE).
GENERATION_FILE = "generation.json"
_EXPORT_DATE = re.compile(r"pms_export_(\d{4}-\d{2}-\d{2})")


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_version(repo: Path = REPO_ROOT) -> dict:
    """The git commit of the code and whether the working tree differs from it (`dirty`); unknown outside git."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "unknown (not a git checkout)", "dirty": None}
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def loaded_inputs(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every source file the warehouse was loaded from, as the raw load recorded it (raw.load_audit): the file,
    its sha256 as delivered, bytes and rows loaded / quarantined."""
    rows = con.execute("SELECT source_table, file, path, sha256, bytes, rows_read, rows_loaded, rows_quarantined "
                       "FROM raw.load_audit ORDER BY source_table").fetchall()
    keys = ("source_table", "file", "path", "sha256", "bytes", "rows_read", "rows_loaded", "rows_quarantined")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def pms_export(inputs: list[dict]) -> dict:
    """The PMS delivery analysed: its folder's export date (pms_export_YYYY-MM-DD), and the manifest's if it has
    one. Unknown when no PMS file was loaded."""
    paths = [Path(i["path"]) for i in inputs if i["source_table"].startswith("pms_") and i["path"]]
    folders = sorted({p.parent for p in paths})
    if not folders:
        return {"folder": None, "export_date": None}
    folder = folders[-1]
    found = _EXPORT_DATE.search(folder.name)
    manifest = folder / "manifest.json"
    declared = None
    if manifest.is_file():
        try:
            declared = json.loads(manifest.read_text()).get("export_date")
        except (OSError, ValueError):
            declared = None
    return {"folder": str(folder), "export_date": declared or (found.group(1) if found else None)}


def synthetic_marker(*source_dirs: Path) -> dict | None:
    """The generator's record when the sources came from `als-eca generate` (it writes generation.json beside the
    PRO-ACT and PMS folders), else None."""
    for folder in source_dirs:
        for candidate in (Path(folder) / GENERATION_FILE, Path(folder).parent / GENERATION_FILE):
            if candidate.is_file():
                try:
                    doc = json.loads(candidate.read_text())
                except (OSError, ValueError):
                    continue
                if doc.get("synthetic"):
                    return {"file": str(candidate), **{k: v for k, v in doc.items() if not isinstance(v, dict | list)}}
    return None


def collect(con: duckdb.DuckDBPyConnection, run_id: str, study: dict, proact_dir: Path, pms_dir: Path) -> dict:
    """The run's provenance. `study`: the spec's provenance (als_eca.study.spec.LoadedStudy.provenance())."""
    inputs = loaded_inputs(con)
    return {
        "run_id": run_id,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code": code_version(),
        "study": study,
        "pms_export": pms_export(inputs),
        "inputs": inputs,
        "packages": package_versions(),
        "synthetic": synthetic_marker(proact_dir, pms_dir),
    }
