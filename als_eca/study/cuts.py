"""Results by data cut: the PMS exports are cumulative, so each export date is a data cut, and a study's headline
figures are kept per cut to show whether the result holds as data accrue.

One JSON file per study and cut, `<warehouse dir>/cuts/<study id>/<export date>.json`, written by the study report
at the end of every run: the run's synopsis (als_eca.study.synopsis.synopsis_of, the figures of the report's box
and the run's headline - taken from there, never recomputed), with the run id, code version, spec hash and time.
A rerun of a cut replaces its file, so each cut shows its latest run. `als-eca cuts` lists them; the report's
section "Results by data cut" shows its own study's.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pandas as pd

from als_eca.study.synopsis import hr_text, p_text, synopsis_of

#: Beside the warehouse, like the analysis store and the reports.
CUTS_DIR = "cuts"


def cut_record(documents: dict[str, dict], provenance: dict) -> dict | None:
    """A run's headline figures under its cut: per analysis the synopsis of its results document, and what made
    them. None when the run's PMS export date is unknown (nothing to file it under)."""
    export = provenance.get("pms_export") or {}
    export_date = export.get("export_date")
    try:  # (the manifest's declared date is free text: only a real date names a file)
        date.fromisoformat(str(export_date))
    except ValueError:
        return None
    study = provenance.get("study") or {}
    return {
        "study": study.get("id", "study"),
        "export_date": str(export_date),
        "export_folder": export.get("folder"),
        "run_id": provenance.get("run_id"),
        "code": provenance.get("code"),
        "spec_sha256": study.get("sha256"),
        "generated_at": provenance.get("generated_at"),
        "analyses": synopsis_of(documents),
    }


def record_cut(cuts_dir: Path, documents: dict[str, dict], provenance: dict) -> Path | None:
    """Keep the run's headline figures under its study and cut (replacing an earlier run of the same cut); returns
    the file, or None when the run's export date is unknown."""
    # (NaN and numpy numbers as strict JSON, as the analysis store writes them; analytics.study pulls in scipy)
    from analytics.study import json_safe

    record = cut_record(documents, provenance)
    if record is None:
        return None
    target = Path(cuts_dir) / record["study"] / f"{record['export_date']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a report or `als-eca cuts` reading meanwhile never sees half a file.
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(json_safe(record), indent=2, sort_keys=True, allow_nan=False) + "\n")
    os.replace(tmp, target)
    return target


def read_cuts(cuts_dir: Path, study_id: str) -> list[dict]:
    """The recorded cuts of one study, oldest export first (empty when none was recorded)."""
    folder = Path(cuts_dir) / study_id
    if not folder.is_dir():
        return []
    records = [json.loads(p.read_text()) for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(records, key=lambda r: r["export_date"])


def studies(cuts_dir: Path) -> list[str]:
    """The study ids with at least one recorded cut."""
    folder = Path(cuts_dir)
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.json"))) if folder.is_dir() else []


CUT_COLUMNS = ("export date", "analysis", "eligible BM-MSC / control", "matched sets", "deaths BM-MSC / control",
               "HR single cycle (95 % CI)", "HR multiple (95 % CI)", "log-rank p", "run")


def cut_rows(cuts: list[dict], current: str | None = None) -> list[tuple[str, ...]]:
    """One row per cut and analysis (CUT_COLUMNS), oldest cut first; the cut `current` (an export date) is marked
    "(this run)". An analysis without results shows why in its HR column."""
    rows = []
    for cut in cuts:
        when = cut["export_date"] + (" (this run)" if cut["export_date"] == current else "")
        run = str(cut.get("run_id") or "?")[:8]
        for name, s in cut["analyses"].items():
            if "eligible" not in s:
                rows.append((when, name, "", "", "", s.get("not_estimable", "no results"), "", "", run))
                continue
            rows.append((when, name, f"{s['eligible']['treated']} / {s['eligible']['control']}", str(s["pairs"]),
                         f"{s['deaths']['treated']} / {s['deaths']['control']}",
                         hr_text(s["hr"].get("group_single")).replace("95 % CI ", ""),
                         hr_text(s["hr"].get("group_multiple")).replace("95 % CI ", ""), p_text(s["logrank_p"]),
                         run))
    return rows


def hr_points(cuts: list[dict], term: str = "group_single") -> pd.DataFrame:
    """The HR of `term` with its CI per cut and analysis (export_date, analysis, hr, lower, upper): what the
    report's figure draws. Analyses without that estimate are left out."""
    points = [(cut["export_date"], name, hr["hr"], hr["lower"], hr["upper"])
              for cut in cuts for name, s in cut["analyses"].items()
              if (hr := (s.get("hr") or {}).get(term)) and hr.get("hr") is not None]
    return pd.DataFrame(points, columns=["export_date", "analysis", "hr", "lower", "upper"])
