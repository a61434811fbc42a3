"""The warehouse resource: one DuckDB file, opened per step (Dagster's `duckdb_writer` pool keeps writers serial)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (ALS_ECA_WAREHOUSE) and where its analysts' snapshot is published
    (ALS_ECA_SNAPSHOT_DIR)."""

    path: str
    snapshot_dir: str = ""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = Path(self.path)
        if read_only:
            con = duckdb.connect(str(path), read_only=True)
            try:
                yield con
            finally:
                con.close()
            return
        from als_eca.warehouse_lock import warehouse_lock
        from orchestration.run_state import invalidate

        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer lock every run path shares (held for the whole run by `als-eca run`, re-entrant here): a run
        # launched from the UI, schedule or sensor waits for a CLI run instead of failing on DuckDB's lock.
        with warehouse_lock(path, on_wait=dg.get_dagster_logger().warning):
            con = duckdb.connect(str(path))
            invalidate(con)  # this run changes the warehouse: "up to date" no longer holds until it succeeds
            try:
                yield con
            finally:
                con.close()

    @property
    def snapshot(self) -> Path:
        """The analysts' snapshot folder (by default next to the warehouse)."""
        return Path(self.snapshot_dir) if self.snapshot_dir else self.directory / "snapshot"

    @property
    def directory(self) -> Path:
        """Where run outputs next to the warehouse live (analysis results, report, snapshot)."""
        return Path(self.path).resolve().parent


class StudyResource(dg.ConfigurableResource):
    """The study spec (ALS_ECA_STUDY, `als-eca run --study`; set `resources.study.config.path` in the launchpad to
    run another study): cohort rules for dbt, matching and outcome options for the analysis (als_eca/study/spec.py)."""

    path: str

    def load(self):
        from als_eca.study.spec import load_study

        return load_study(Path(self.path))


class SourcesResource(dg.ConfigurableResource):
    """Where the source files are: the PRO-ACT folder and the folder of PMS exports (ALS_ECA_PROACT_DIR/_PMS_DIR);
    `pms_as_of` (ALS_ECA_PMS_AS_OF, YYYY-MM-DD; empty: the newest) loads the newest export on or before that date,
    an earlier data cut."""

    proact_dir: str
    pms_dir: str
    pms_as_of: str = ""

    @property
    def as_of(self):
        """`pms_as_of` as a date, or None for the newest export."""
        from datetime import date

        return date.fromisoformat(self.pms_as_of) if self.pms_as_of else None
