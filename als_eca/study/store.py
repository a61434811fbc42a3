"""Where the study keeps its results: one folder (`<warehouse dir>/analysis/` for the analysis assets, the --out
folder of `als-eca analyze`), one file per result - JSON for numbers, Parquet for tables, PNG for figures, and a
pickle for the full matched analysis that the steps after it reuse. Users and the report read the same files the
steps wrote; the analysis assets' IO manager (orchestration/analysis_io.py) saves and loads each asset's
`StepOutput` here."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class StepOutput:
    """What a study step produced. `AnalysisStore.save_step` keeps each part as a file of its own: the numbers as
    `<step>.json`, and every table, figure, document and object under its own name."""

    numbers: dict = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # <name>.parquet
    figures: dict[str, bytes] = field(default_factory=dict)  # <name>.png
    documents: dict[str, Any] = field(default_factory=dict)  # <name>.json: results.json, the `als-eca analyze` contract
    objects: dict[str, Any] = field(default_factory=dict)  # <name>.pkl: the matched analysis, reused downstream

    @classmethod
    def not_estimable_because(cls, reason: str) -> StepOutput:
        return cls({"not_estimable": reason})

    @classmethod
    def not_requested(cls, what: str) -> StepOutput:
        """A step the study spec does not ask for: no estimate, as a choice rather than a failure (its `estimable`
        check passes; steps that need it pass the same reason on)."""
        return cls.not_estimable_because(f"{NOT_REQUESTED} ({what})")

    @property
    def requested(self) -> bool:
        """False for a step the study spec did not ask for (see `not_requested`)."""
        return not (self.not_estimable or "").startswith(NOT_REQUESTED)

    @property
    def not_estimable(self) -> str | None:
        """Why the step made no estimate on this cohort (its numbers hold `"not_estimable": reason`), or None."""
        return self.numbers.get("not_estimable")


_PARTS = ("tables", "figures", "documents", "objects")
#: The reason a step gives when the study spec does not ask for it.
NOT_REQUESTED = "not requested by the study spec"


class AnalysisStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, name: str) -> Path:
        return self.directory / name

    def save_step(self, name: str, out: StepOutput) -> None:
        """Keep step `name`'s output: its numbers as `<name>.json`, its parts (`save_parts`), and last the names of
        its parts as `<name>.files.json`: what `load_step` reads back (a file an earlier run left is not part of
        this output). Parts share one folder under their own names, so a part another step already owns is
        refused (ValueError naming both) rather than overwritten under that step's feet."""
        self._refuse_taken_names(name, out)
        self.save_json(name, out.numbers)
        self.save_parts(out)
        self.save_json(f"{name}.files", {part: list(getattr(out, part)) for part in _PARTS})

    def _refuse_taken_names(self, name: str, out: StepOutput) -> None:
        mine = {(part, item) for part in _PARTS for item in getattr(out, part)} | {("documents", name)}
        for listing in self.directory.glob("*.files.json"):
            other = listing.name.removesuffix(".files.json")
            if other == name:
                continue
            files = json.loads(listing.read_text())
            theirs = {(part, item) for part in _PARTS for item in files.get(part, [])} | {("documents", other)}
            if taken := sorted(item for _, item in mine & theirs):
                raise ValueError(f"step {name!r} would overwrite {', '.join(taken)} of step {other!r} (if {other!r} "
                                 f"is a step of an earlier version of the pipeline, delete {listing})")

    def save_parts(self, out: StepOutput) -> None:
        """Every table, figure, document and object of `out`, each under its own name."""
        for table, frame in out.tables.items():
            self.save_frame(table, frame)
        for figure, png in out.figures.items():
            self.save_png(figure, png)
        for document, obj in out.documents.items():
            self.save_json(document, obj)
        for obj_name, obj in out.objects.items():
            self.save_pickle(obj_name, obj)

    def load_step(self, name: str) -> StepOutput:
        files = self.load_json(f"{name}.files")
        return StepOutput(
            self.load_json(name),
            {table: self.load_frame(table) for table in files["tables"]},
            {figure: self.load_png(figure) for figure in files["figures"]},
            {document: self.load_json(document) for document in files["documents"]},
            {obj_name: self.load_pickle(obj_name) for obj_name in files["objects"]},
        )

    def _write(self, name: str, data: bytes) -> Path:
        # Write then rename: a reader never sees half a file.
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target

    def save_json(self, name: str, obj: Any) -> Path:
        """Strict JSON (NaN and infinity become null), keys sorted."""
        # (analytics.study pulls in scipy: imported only when something is stored)
        from analytics.study import json_safe

        text = json.dumps(json_safe(obj), indent=2, sort_keys=True, allow_nan=False)
        return self._write(f"{name}.json", text.encode())

    def load_json(self, name: str) -> Any:
        return json.loads(self.path(f"{name}.json").read_text())

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
