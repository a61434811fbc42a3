"""The `progress` logger of `als-eca run` without --verbose: one line per finished step (its name, how long it
took, or that it failed) instead of Dagster's event log and dbt's line per node - the run's headline is what a
person reads at the end."""

from __future__ import annotations

import logging
import sys

import dagster as dg

_SHOWN = {"STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED"}
DBT_TESTS_PREFIX = "dbt_tests_"  # orchestration/dbt_checks.py: a step per model's dbt tests


class _FinishedSteps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        event = getattr(record, "dagster_event", None)
        if event is None or event.event_type_value not in _SHOWN:
            return False
        if event.event_type_value == "STEP_SUCCESS" and (event.step_key or "").startswith(DBT_TESTS_PREFIX):
            return False  # 40 models' test steps: the headline counts the checks; a failed one is shown
        data = event.event_specific_data
        seconds = getattr(data, "duration_ms", None)
        took = f" ({seconds / 1000:.1f} s)" if seconds is not None else ""
        record.msg, record.args = f"  {event.step_key}: {_SHOWN[event.event_type_value]}{took}", ()
        return True


@dg.logger(description="One line per finished step on stderr (als-eca run without --verbose).")
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.Logger("als_eca_progress", level=logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_FinishedSteps())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return logger
