"""The simulation audit's summary measures (Morris et al. 2019) on hand-made estimates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.simulation import audit_summary


def _estimates(rows):
    return pd.DataFrame(rows, columns=["seed", "analysis", "term", "truth", "hr", "lower", "upper"])


def test_bias_coverage_and_their_monte_carlo_errors():
    e = _estimates([
        (1, "a", "t", 0.5, 0.5, 0.3, 0.8),    # covers, excludes 1
        (2, "a", "t", 0.5, 1.0, 0.6, 1.6),    # misses (0.5 < 0.6), covers 1
        (3, "a", "t", 0.5, 0.25, 0.1, 0.45),  # misses (0.5 > 0.45)
        (4, "a", "t", 0.5, 0.5, 0.2, 1.2),    # covers
        (5, "a", "t", 0.5, None, None, None),  # not estimable
    ])
    r = audit_summary(e).iloc[0]
    logs = np.log([0.5, 1.0, 0.25, 0.5])
    assert (r["seeds"], r["estimable"]) == (5, 4)
    assert r["mean_hr"] == pytest.approx(math.exp(logs.mean()))
    assert r["bias_log_hr"] == pytest.approx(logs.mean() - math.log(0.5))
    assert r["empirical_se"] == pytest.approx(np.std(logs, ddof=1))
    assert r["bias_mcse"] == pytest.approx(np.std(logs, ddof=1) / 2)
    assert r["coverage"] == pytest.approx(0.5)
    assert r["coverage_mcse"] == pytest.approx(math.sqrt(0.25 / 4))
    assert r["ci_excludes_1"] == pytest.approx(0.5)


def test_truth_may_differ_by_seed_and_groups_are_separate():
    e = _estimates([(1, "a", "t", 0.4, 0.4, 0.3, 0.5), (2, "a", "t", 0.6, 0.6, 0.5, 0.7),
                    (1, "b", "t", 1.0, 2.0, 1.5, 2.5)])
    s = audit_summary(e).set_index("analysis")
    assert s.loc["a", "bias_log_hr"] == pytest.approx(0.0)
    assert s.loc["a", "coverage"] == 1.0
    assert s.loc["b", "coverage"] == 0.0 and math.isnan(s.loc["b", "empirical_se"])


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="upper"):
        audit_summary(pd.DataFrame(columns=["seed", "analysis", "term", "truth", "hr", "lower"]))
