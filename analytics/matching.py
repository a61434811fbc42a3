"""Greedy nearest-neighbour propensity-score matching without replacement (MatchIt 4.x ``method="nearest"``).

Rule, identical to MatchIt 4.4.0 ``matchit(..., method="nearest", distance="glm", replace=FALSE)`` run through
its general (distance-matrix) code path, ``src/nn_matchC.cpp`` ``find_control_mat``:

* treated units are processed in DECREASING score order (``m.order = "largest"``, the ATT default); treated
  units with equal scores keep their input order (R ``order()`` is stable);
* with ``ratio = k`` there are k passes: pass 1 gives each treated unit (in that order) its first control,
  pass 2 its second, ...; a treated unit that finds no admissible control in a pass gets none in later passes;
* each treated unit takes the still-unmatched control with the smallest ``|score_t - score_c|`` (computed in
  IEEE double exactly like R's ``abs(outer(t, c, "-"))``);
* caliper: a control is admissible only if its distance is ``<= caliper`` (MatchIt skips ``dist > caliper``);
  :func:`match_on_score` converts a caliper in SD units with ``sd(score)`` over ALL units (``std.caliper``);
* ties (equal distance): the control with the LOWER score wins; equal scores: the control earlier in the input
  order wins. MatchIt resolves ties by column order of the distance matrix (first minimum); the R reference
  scripts order the columns by (score, input position), which makes R apply exactly this rule.

Cost of :func:`greedy_match`: O((n + m) log m): the controls are sorted once; the nearest unmatched control
on each side of a treated score is found by binary search plus two path-compressed union-find "next
unmatched" pointers. :func:`greedy_match_naive` is the O(n*m) scan kept as the executable specification.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _check_inputs(st: np.ndarray, sc: np.ndarray, ratio: int, caliper: float | None) -> None:
    if ratio < 1 or int(ratio) != ratio:
        raise ValueError("ratio must be a positive integer")
    if not (np.isfinite(st).all() and np.isfinite(sc).all()):
        raise ValueError("scores must be finite")
    if caliper is not None and not (caliper >= 0):
        raise ValueError("caliper must be >= 0")


def treated_order(scores_treated: np.ndarray) -> np.ndarray:
    """Processing order of the treated units: decreasing score, ties in input order (stable)."""
    return np.argsort(-np.asarray(scores_treated, dtype=float), kind="stable")


def greedy_match(
    scores_treated: np.ndarray, scores_control: np.ndarray, ratio: int = 1, caliper: float | None = None
) -> pd.DataFrame:
    """Greedy matching; returns one row per pair: ``treated`` / ``control`` (positions in the input arrays),
    ``pass`` (1..ratio) and ``distance``, in the order the pairs were formed. ``caliper`` is in score units."""
    st = np.asarray(scores_treated, dtype=float)
    sc = np.asarray(scores_control, dtype=float)
    _check_inputs(st, sc, ratio, caliper)
    m = len(sc)
    corder = np.lexsort((np.arange(m), sc))  # by score, then input position
    cs = sc[corder].tolist()
    # right[i]: smallest unmatched sorted position >= i (m = none); left[i+1]: largest unmatched <= i (0 = none)
    right = list(range(m + 1))
    left = list(range(m + 1))

    def find_right(i: int) -> int:
        root = i
        while right[root] != root:
            root = right[root]
        while right[i] != root:
            right[i], i = root, right[i]
        return root

    def find_left(i: int) -> int:  # i in sorted positions; returns position or -1
        j = i + 1
        root = j
        while left[root] != root:
            root = left[root]
        while left[j] != root:
            left[j], j = root, left[j]
        return root - 1

    def first_of_group(pos: int) -> int:
        """First unmatched position holding the same score as unmatched position ``pos``."""
        return find_right(bisect_left(cs, cs[pos]))

    rows: list[tuple[int, int, int, float]] = []
    order = treated_order(st).tolist()
    eligible = [True] * len(st)
    remaining = m
    for r in range(1, ratio + 1):
        for ti in order:
            if not eligible[ti]:
                continue
            if remaining == 0:
                eligible[ti] = False
                continue
            t = float(st[ti])
            p = bisect_left(cs, t)
            rpos = find_right(p)
            lpos = find_left(p - 1)
            best, dbest = -1, np.inf
            if lpos >= 0:
                lpos = first_of_group(lpos)
                dl = abs(t - cs[lpos])
                # equal rounded distance further left: the lower score wins (rare floating-point coincidence)
                while True:
                    prev = find_left(bisect_left(cs, cs[lpos]) - 1)
                    if prev < 0 or abs(t - cs[prev]) != dl:
                        break
                    lpos = first_of_group(prev)
                best, dbest = lpos, dl
            if rpos < m:
                dr = abs(t - cs[rpos])
                if dr < dbest:
                    best, dbest = rpos, dr
            if best < 0 or (caliper is not None and dbest > caliper):
                eligible[ti] = False
                continue
            right[best] = best + 1
            left[best + 1] = best
            remaining -= 1
            rows.append((ti, int(corder[best]), r, dbest))
    return pd.DataFrame(rows, columns=["treated", "control", "pass", "distance"]).astype(
        {"treated": "int64", "control": "int64", "pass": "int64", "distance": "float64"}
    )


def greedy_match_naive(
    scores_treated: np.ndarray, scores_control: np.ndarray, ratio: int = 1, caliper: float | None = None
) -> pd.DataFrame:
    """Reference O(n*m) implementation of the same rule (full scan of the controls for every treated unit)."""
    st = np.asarray(scores_treated, dtype=float)
    sc = np.asarray(scores_control, dtype=float)
    _check_inputs(st, sc, ratio, caliper)
    used = np.zeros(len(sc), dtype=bool)
    eligible = np.ones(len(st), dtype=bool)
    rows: list[tuple[int, int, int, float]] = []
    for r in range(1, ratio + 1):
        for ti in treated_order(st):
            if not eligible[ti]:
                continue
            d = np.abs(st[ti] - sc)
            ok = ~used if caliper is None else (~used & (d <= caliper))
            if not ok.any():
                eligible[ti] = False
                continue
            cand = np.flatnonzero(ok)
            cand = cand[d[cand] == d[cand].min()]
            cand = cand[sc[cand] == sc[cand].min()]
            ci = int(cand.min())
            used[ci] = True
            rows.append((int(ti), ci, r, float(d[ci])))
    return pd.DataFrame(rows, columns=["treated", "control", "pass", "distance"]).astype(
        {"treated": "int64", "control": "int64", "pass": "int64", "distance": "float64"}
    )


@dataclass(frozen=True)
class MatchResult:
    """Matched pairs by subject id plus MatchIt-style weights for every input unit."""

    pairs: pd.DataFrame  # treated_id, control_id, pass, distance, subclass (1-based, one per treated unit)
    weights: (
        pd.Series
    )  # indexed by subject id: ATT matching weights (treated 1, controls 1/k of their treated)
    caliper_width: float | None  # in score units

    @property
    def matched_ids(self) -> list:
        """Ids of all units in the matched set (weight > 0), in input order."""
        return list(self.weights.index[self.weights > 0])


def match_on_score(
    ids: pd.Series | np.ndarray,
    treated: pd.Series | np.ndarray,
    scores: pd.Series | np.ndarray,
    ratio: int = 1,
    caliper: float | None = None,
    std_caliper: bool = True,
) -> MatchResult:
    """Match treated (1) to control (0) units on ``scores``; ``caliper`` in SD of the score over all units when
    ``std_caliper`` (MatchIt default), else in score units.

    Weights follow MatchIt ``weights.matrix`` for the ATT: matched treated 1, each matched control the sum over
    its treated unit of 1/(number of controls of that unit), rescaled so the control weights sum to the number
    of matched controls.
    """
    ids = pd.Series(np.asarray(ids))
    if ids.duplicated().any():
        raise ValueError("subject ids must be unique")
    tr = np.asarray(treated).astype(int)
    if not np.isin(tr, [0, 1]).all():
        raise ValueError("treated must be 0/1")
    sc = np.asarray(scores, dtype=float)
    width = None
    if caliper is not None:
        width = float(caliper * np.std(sc, ddof=1)) if std_caliper else float(caliper)
    it = np.flatnonzero(tr == 1)
    ic = np.flatnonzero(tr == 0)
    raw = greedy_match(sc[it], sc[ic], ratio=ratio, caliper=width)
    pairs = pd.DataFrame(
        {
            "treated_id": ids.to_numpy()[it[raw["treated"].to_numpy()]],
            "control_id": ids.to_numpy()[ic[raw["control"].to_numpy()]],
            "pass": raw["pass"].to_numpy(),
            "distance": raw["distance"].to_numpy(),
        }
    )
    # subclass: treated units numbered by position in the processing order among matched units
    first = pairs.drop_duplicates("treated_id")["treated_id"].tolist()
    pairs["subclass"] = pairs["treated_id"].map({t: i + 1 for i, t in enumerate(first)}).astype("int64")
    w = pd.Series(0.0, index=ids.to_numpy())
    if len(pairs):
        k = pairs.groupby("treated_id")["control_id"].transform("size").to_numpy(dtype=float)
        w.loc[pairs["treated_id"].unique()] = 1.0
        cw = pd.Series(1.0 / k).groupby(pairs["control_id"].to_numpy()).sum()
        cw = cw * len(cw) / cw.sum()
        w.loc[cw.index] = cw.to_numpy()
    return MatchResult(pairs=pairs, weights=w, caliper_width=width)
