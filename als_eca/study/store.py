"""Where the analysis assets keep their results: one folder next to the warehouse (`<warehouse dir>/analysis/`),
one file per result - JSON for numbers, Parquet for tables, PNG for figures, and a pickle for the full matched
analysis that downstream assets reuse. Users and the report read the same files the assets wrote."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd


class AnalysisStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @classmethod
    def next_to(cls, warehouse: Path) -> AnalysisStore:
        return cls(Path(warehouse).resolve().parent / "analysis")

    def path(self, name: str) -> Path:
        return self.directory / name

    def _write(self, name: str, data: bytes) -> Path:
        # Write then rename: a reader never sees half a file.
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    def save_json(self, name: str, obj: Any) -> Path:
        # (analytics.study pulls in scipy: imported only when something is stored)
        from analytics.study import json_safe

        return self._write(f"{name}.json", json.dumps(json_safe(obj), indent=2, sort_keys=True).encode())

    def load_json(self, name: str) -> Any:
        return json.loads(self.path(f"{name}.json").read_text())

    def not_estimable(self, name: str) -> str | None:
        """Why step `name` recorded no estimate (`{"not_estimable": reason}`), or None (it did, or has not run)."""
        numbers = self.load_json(name) if self.path(f"{name}.json").exists() else {}
        return numbers.get("not_estimable") if isinstance(numbers, dict) else None

    def save_frame(self, name: str, frame: pd.DataFrame) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(f"{name}.parquet")
        tmp = target.with_name(f".{target.name}.tmp")
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, target)
        return target

    def load_frame(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(f"{name}.parquet"))

    def save_pickle(self, name: str, obj: Any) -> Path:
        return self._write(f"{name}.pkl", pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    def load_pickle(self, name: str) -> Any:
        # Only files this pipeline wrote itself are unpickled.
        return pickle.loads(self.path(f"{name}.pkl").read_bytes())

    def save_png(self, name: str, png: bytes) -> Path:
        return self._write(f"{name}.png", png)

    def load_png(self, name: str) -> bytes:
        return self.path(f"{name}.png").read_bytes()
