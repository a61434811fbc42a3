"""Shared helpers of the analytics tests: committed inputs (data/) and R outputs (expected/, made by r/*.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
EXPECTED = HERE / "expected"
RTOL = 1e-6


def load_expected(name: str) -> dict:
    """R reference values; the producing script is tests/analytics/r/<name>.R."""
    return json.loads((EXPECTED / f"{name}.json").read_text())


def load_data(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def close(actual, expected, rtol: float = RTOL, atol: float = 0.0) -> None:
    """Elementwise relative comparison; ``None`` in R output (NA) must be NaN here."""
    e = np.array([np.nan if v is None else v for v in np.atleast_1d(expected)], dtype=float)
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
