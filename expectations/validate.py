"""Run a suite with an ephemeral GX context in a worker process of its own.

Why a process: importing GX 1.x and building its context costs ~3 s of CPU (up to ~7 s on a cold disk). In the
run's own process that import, even on a background thread, holds the interpreter lock against the raw loads, dbt
and the analyses (one CPU-bound interpreter), so it lengthened every run by about as much. In a worker it takes the
machine's other core: `start()` (called when a run starts, and by the raw loads) spawns the worker, which imports GX
at once. Each suite's SQL runs on the caller's DuckDB connection (the warehouse has one writer, so only the caller
may read it) and the selected columns go to the worker as a pandas frame, exactly as they were validated in
process; at scale 100 that costs ~1.4 s for the 240 MB of raw.proact_alsfrs's columns. The worker lives as long as
the process that started it (a simulation worker validates every seed with one).
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context, parent_process
from multiprocessing.connection import wait
from multiprocessing.util import Finalize
from typing import Any

import pandas as pd

from expectations.suites import Suite


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    unexpected_sample: list[Any]
    observed_value: Any


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome]

    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


_WORKER_LOCK = threading.Lock()
_worker: ProcessPoolExecutor | None = None


def start() -> ProcessPoolExecutor:
    """The GX worker, spawned on first use; it imports GX and builds its context straight away."""
    global _worker
    with _WORKER_LOCK:
        if _worker is None:
            # spawn, not fork: the run's process holds DuckDB's and Dagster's threads, which a fork would copy
            # mid-state.
            _worker = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), initializer=_worker_start)
            _worker.submit(int)  # the pool starts its process on the first task: start it now
        return _worker


def stop() -> None:
    """End the worker (at exit, or to free its memory)."""
    global _worker
    with _WORKER_LOCK:
        worker, _worker = _worker, None
    if worker is not None:
        worker.shutdown(wait=True, cancel_futures=True)


atexit.register(stop)
# A multiprocessing child (a simulation worker) runs no atexit handlers: it joins its own children first, and would
# wait for the worker for ever. Its finalizers with a priority run before that join; this one before the pool's own
# queues close theirs (priority 10), which would leave the stop unsent.
Finalize(None, stop, exitpriority=100)


def _worker_start() -> None:
    """In the worker: end with the process that started it, even if that one is killed (then nothing would tell the
    worker to stop, and it would live on, orphaned), and import GX at once."""
    parent = parent_process()
    if parent is not None:
        def watch() -> None:
            wait([parent.sentinel])
            os._exit(0)

        threading.Thread(target=watch, name="watch-parent", daemon=True).start()
    _build_context()


def validate(suite: Suite, con) -> SuiteOutcome:
    """Run the suite's SQL on a DuckDB connection and validate the result in the GX worker."""
    frame = con.execute(suite.sql).df()
    for _ in range(2):
        try:
            return start().submit(validate_frame, suite, frame).result()
        except BrokenProcessPool:  # the worker died (killed, out of memory) or could not start: a new one
            stop()
    # Twice no worker: e.g. a caller's script without the `if __name__ == "__main__":` guard, which a spawned
    # process imports again and cannot start from. The suite still runs, in this process.
    warnings.warn("the GX worker process could not run; validating in this process", RuntimeWarning, stacklevel=2)
    return validate_frame(suite, frame)


@functools.cache
def _build_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # older/newer GX: progress bars are cosmetic only
        pass
    batch_definition = (
        context.data_sources.add_pandas("als_eca")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
    )
    return gx, context, batch_definition


def validate_frame(suite: Suite, frame: pd.DataFrame) -> SuiteOutcome:
    """Validate `frame` (the result of `suite.sql`) against the suite's expectations, with GX in this process
    (what the worker runs)."""
    gx, context, batch_definition = _build_context()
    import great_expectations.expectations as gxe

    gx_suite = gx.ExpectationSuite(name=f"{suite.name}")
    for class_name, kwargs in suite.expectations:
        gx_suite.add_expectation(getattr(gxe, class_name)(**kwargs))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    # BASIC: the unexpected count and a sample of unexpected values, which is what the check shows. GX's default
    # (SUMMARY) also counts the unexpected values and lists their row indexes: ~25 % of the validation time on
    # the 6.3 M rows of raw.proact_alsfrs at scale 100 (2.4 -> 1.75 s), for nothing shown.
    result = batch.validate(gx_suite, result_format="BASIC")
    outcomes = []
    for r in result.results:
        details = r.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=r.expectation_config.type,
                column=r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_A"),
                success=bool(r.success),
                unexpected_count=details.get("unexpected_count"),
                unexpected_sample=list(details.get("partial_unexpected_list") or [])[:10],
                observed_value=details.get("observed_value"),
            )
        )
    return SuiteOutcome(suite=suite.name, success=bool(result.success), rows=len(frame), outcomes=outcomes)
