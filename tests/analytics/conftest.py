"""Session fixtures of the analytics tests (R reference values and the committed synthetic cohort)."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_ref import load_data, load_expected


@pytest.fixture(scope="session")
def survival_ref() -> dict:
    return load_expected("survival_reference")


@pytest.fixture(scope="session")
def study_ref() -> dict:
    return load_expected("study_reference")


@pytest.fixture(scope="session")
def estimands_ref() -> dict:
    return load_expected("estimands_reference")


@pytest.fixture(scope="session")
def cafs_ref() -> dict:
    return load_expected("cafs_reference")


@pytest.fixture(scope="session")
def cohort() -> pd.DataFrame:
    return load_data("study_cohort.csv")
