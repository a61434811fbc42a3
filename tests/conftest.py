"""Shared fixtures: a small generated dataset, made once per test worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")

SMALL_SCALE = 0.05
SEED = 7


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """Synthetic PRO-ACT + PMS at a small scale (a few seconds): `<dir>/proact`, `<dir>/pms`."""
    import synthetic

    out = tmp_path_factory.mktemp("small_data")
    synthetic.generate(out, seed=SEED, scale=SMALL_SCALE)
    return out


MEDIUM_SCALE = 0.25  # ~40 eligible treated patients: every model of the study is estimable
MEDIUM_SEED = 12  # a seed whose matched set makes every model of the study estimable (not every seed does at 0.25)


@pytest.fixture(scope="session")
def medium_data(tmp_path_factory) -> Path:
    """Synthetic data big enough for the whole study (whole-graph and webserver tests): about 2 s to make."""
    import synthetic

    out = tmp_path_factory.mktemp("medium_data")
    synthetic.generate(out, seed=MEDIUM_SEED, scale=MEDIUM_SCALE)
    return out


@pytest.fixture()
def pseudonym_key(monkeypatch) -> str:
    key = "test-key-not-secret"
    monkeypatch.setenv("ALS_ECA_PSEUDONYM_KEY", key)
    return key
