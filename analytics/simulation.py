"""The simulation audit's summary: per analysis and term, how the estimated hazard ratios over many generated
data sets compare with the truth (Morris, White & Crowther 2019, Stat Med 38:2074 - the performance measures and
their Monte Carlo standard errors).

Estimates are summarised on the log scale, where the Cox estimator is approximately normal: the mean log HR
(reported back as a geometric-mean HR), its bias against the log true HR, the empirical SE (the SD of the
estimates over seeds), and the coverage of the 95 % CI - the share of seeds whose interval holds the truth - with
its Monte Carlo SE sqrt(c (1 - c) / n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: One row per seed, analysis and term (what `audit_summary` reads).
ESTIMATE_COLUMNS: tuple[str, ...] = ("seed", "analysis", "term", "truth", "hr", "lower", "upper")
#: The terms a reader is shown first: the single-cycle group (its multiple-injection twin has ~25 patients) and
#: the falsifications' one term.
HEADLINE_TERMS: tuple[str, ...] = ("group_single", "treated")


def audit_summary(estimates: pd.DataFrame, truth_column: str = "truth") -> pd.DataFrame:
    """Per (analysis, term): seeds, estimable seeds, geometric-mean HR, mean log-HR bias and its Monte Carlo SE,
    empirical SE of the log HR, coverage of the truth by the 95 % CI and its Monte Carlo SE, and the share of
    CIs excluding 1 (power under a true effect, type-I error under a true null). A seed whose model could not be
    estimated (hr missing) counts in `seeds` only. `truth_column` names the truth per row (it may differ by seed:
    the marginal truth is computed per generated data set)."""
    missing = [c for c in (*ESTIMATE_COLUMNS, truth_column) if c not in estimates.columns]
    if missing:
        raise ValueError(f"estimates are missing column(s): {', '.join(missing)}")
    rows = []
    for (analysis, term), g in estimates.groupby(["analysis", "term"], sort=False):
        ok = g.dropna(subset=["hr", "lower", "upper", truth_column])
        ok = ok[(ok["hr"] > 0) & (ok["lower"] > 0) & np.isfinite(ok["upper"])]
        n = len(ok)
        log_hr, log_truth = np.log(ok["hr"].to_numpy(float)), np.log(ok[truth_column].to_numpy(float))
        covered = (ok["lower"].to_numpy(float) <= ok[truth_column].to_numpy(float)) & (
            ok[truth_column].to_numpy(float) <= ok["upper"].to_numpy(float))
        excludes_1 = (ok["upper"].to_numpy(float) < 1) | (ok["lower"].to_numpy(float) > 1)
        emp_se = float(np.std(log_hr, ddof=1)) if n > 1 else np.nan
        coverage = float(covered.mean()) if n else np.nan
        rows.append({
            "analysis": analysis, "term": term, "seeds": len(g), "estimable": n,
            "truth": float(np.exp(log_truth.mean())) if n else np.nan,
            "mean_hr": float(np.exp(log_hr.mean())) if n else np.nan,
            "bias_log_hr": float((log_hr - log_truth).mean()) if n else np.nan,
            "bias_mcse": emp_se / np.sqrt(n) if n > 1 else np.nan,
            "empirical_se": emp_se,
            "coverage": coverage,
            "coverage_mcse": float(np.sqrt(coverage * (1 - coverage) / n)) if n else np.nan,
            "ci_excludes_1": float(excludes_1.mean()) if n else np.nan,
        })
    return pd.DataFrame(rows)


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of an audit summary a reader is shown first: the headline terms with the model-based CI."""
    return summary[(summary["ci"] == "model") & summary["term"].isin(HEADLINE_TERMS)]
