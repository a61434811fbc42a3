"""What a failed step or run says: the innermost of Dagster's chained errors, for the terminal and the alerts."""

from __future__ import annotations


def innermost_error(error):
    """The innermost chained error of a Dagster SerializableErrorInfo (the path, the lock holder, the file and
    line), not Dagster's wrapper "Error occurred while executing op ..."."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error


def root_cause(error) -> str:
    """The first line of the innermost chained error's message."""
    if error is None:
        return "failed without an error message"
    error = innermost_error(error)
    message = (error.message or "").strip()
    # SerializableErrorInfo messages start with the exception class ("duckdb.IOException: ..."); keep it short
    return message.splitlines()[0] if message else error.cls_name or "failed"
