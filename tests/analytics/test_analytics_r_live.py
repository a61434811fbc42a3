"""Optional: re-run the committed R scripts (needs Rscript with survival, MatchIt, jsonlite) and check they
reproduce the committed expected/*.json. Skipped when R is absent."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from analytics_ref import EXPECTED, HERE

REPO = HERE.parents[1]


def _have_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    ok = subprocess.run(
        ["Rscript", "-e", "library(MatchIt); library(survival); library(jsonlite)"],
        capture_output=True,
        timeout=120,
    )
    return ok.returncode == 0


def _same(a, b):
    if isinstance(b, dict):
        assert a.keys() == b.keys()
        for k in b:
            _same(a[k], b[k])
    elif isinstance(b, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(b, float):
        assert np.isclose(a, b, rtol=1e-12)
    else:
        assert a == b


@pytest.mark.r
@pytest.mark.parametrize(
    "script",
    ["matching_reference", "survival_reference", "study_reference", "estimands_reference", "cafs_reference",
     "safety_reference"],
)
def test_r_scripts_reproduce_committed_expectations(script, tmp_path: Path):
    if not _have_r():
        pytest.skip("Rscript with MatchIt/survival/jsonlite not available")
    out = tmp_path / f"{script}.json"
    subprocess.run(
        ["Rscript", str(HERE / "r" / f"{script}.R"), str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    _same(json.loads(out.read_text()), json.loads((EXPECTED / f"{script}.json").read_text()))
