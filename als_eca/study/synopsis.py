"""The study's synopsis: the figures a reader needs first, per analysis - cohorts, matched pairs, deaths per arm,
medians with CI, HR with CI, log-rank p, RMST difference, max |SMD| and the diagnostics' verdicts. One source for
the report's synopsis box, the report asset's metadata in the Dagster UI and the headline `als-eca run` ends with.
Read from what the analysis steps stored (results.json, aligned_analysis.json), so all three always agree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from als_eca.study.store import StepOutput

#: analysis name -> (the step that computes it, its stored document; the replication's is the `als-eca analyze`
#: contract). Aligned first: the report leads with it.
ANALYSIS_STEPS = {"aligned": ("aligned_analysis", "aligned_analysis.json"),
                  "replication": ("matched_cohort", "results.json")}


def _median(km: dict) -> str:
    """'NR' when the median is not reached; the CI bounds likewise."""
    def fmt(v: float | None) -> str:
        return "NR" if v is None else f"{v:.0f}"
    return f"{fmt(km.get('median'))} ({fmt(km.get('median_lower'))}-{fmt(km.get('median_upper'))})"


def _analysis(doc: dict) -> dict:
    if "not_estimable" in doc or "km" not in doc:
        return {"not_estimable": doc.get("not_estimable", "no results")}
    terms = (doc.get("cox") or {}).get("terms", {})
    hr = {t: terms.get(t) for t in ("group_single", "group_multiple") if terms.get(t)}
    rmst = doc["rmst"]
    diagnostics = doc.get("diagnostics", [])
    smd = next((d for d in diagnostics if d["name"] == "max_abs_smd"), None)
    return {
        "eligible": {"treated": doc["n"]["treated"], "control": doc["n"]["control"]},
        # matched sets: one per matched treated patient (a 1:k match has k pairs per set)
        "pairs": len({p[0] for p in doc["matching"]["pairs"]}),
        "deaths": {arm: doc["km"][arm]["events"] for arm in ("treated", "control")},
        "patients": {arm: doc["km"][arm]["n"] for arm in ("treated", "control")},
        "median_days": {arm: _median(doc["km"][arm]) for arm in ("treated", "control")},
        "hr": {t: {k: v[k] for k in ("hr", "lower", "upper", "p")} for t, v in hr.items() if v.get("hr") is not None},
        "logrank_p": doc["logrank"]["p"],
        "rmst_tau_days": rmst["tau"],
        "rmst_difference_days": rmst["treated"]["estimate"] - rmst["control"]["estimate"],
        "max_abs_smd": smd["value"] if smd else None,
        "diagnostics_failed": [d["name"] for d in diagnostics if d.get("passed") is False],
        "diagnostics_total": len(diagnostics),
    }


def synopsis_of(documents: dict[str, dict]) -> dict:
    """Per analysis (aligned first): its synopsis from its results document, or why it has none."""
    return {name: _analysis(documents[name]) for name in ANALYSIS_STEPS if name in documents}


def documents_of(outputs: Mapping[str, StepOutput]) -> dict[str, dict]:
    """Each analysis' results (or why it has none) from the steps' outputs, by analysis name."""
    return {name: outputs[step].numbers for name, (step, _) in ANALYSIS_STEPS.items() if step in outputs}


def synopsis(analysis_dir: Path) -> dict:
    """Per analysis that was stored: its synopsis, or why it has none (not estimable / not requested)."""
    return synopsis_of({name: json.loads((Path(analysis_dir) / file).read_text())
                        for name, (_, file) in ANALYSIS_STEPS.items() if (Path(analysis_dir) / file).is_file()})


def synopsis_rows(summary: dict) -> list[tuple[str, ...]]:
    """The synopsis as a measure x analysis table (the report's box, the report asset's metadata)."""
    names = list(summary)

    def row(label: str, value) -> tuple[str, ...]:
        return (label, *(value(summary[n]) if "eligible" in summary[n] else summary[n]["not_estimable"]
                         for n in names))

    def hr(term: str):
        return lambda s: hr_text(s["hr"].get(term))

    return [
        ("measure", *names),
        row("eligible BM-MSC / control", lambda s: f"{s['eligible']['treated']} / {s['eligible']['control']}"),
        row("matched sets (BM-MSC / matched controls)",
            lambda s: f"{s['pairs']} ({s['patients']['treated']} / {s['patients']['control']})"),
        row("deaths BM-MSC / control", lambda s: f"{s['deaths']['treated']} / {s['deaths']['control']}"),
        row("median survival BM-MSC, days (95 % CI)", lambda s: s["median_days"]["treated"]),
        row("median survival control, days (95 % CI)", lambda s: s["median_days"]["control"]),
        row("HR BM-MSC single cycle vs control", hr("group_single")),
        row("HR BM-MSC multiple vs control", hr("group_multiple")),
        row("log-rank p", lambda s: p_text(s["logrank_p"])),
        row("RMST difference (days, at tau)", lambda s: f"{s['rmst_difference_days']:+.0f} (tau "
                                                        f"{s['rmst_tau_days']:.0f})"),
        row("max |SMD| after matching", lambda s: "n/a" if s["max_abs_smd"] is None else f"{s['max_abs_smd']:.3f}"),
        row("design diagnostics", lambda s: f"{s['diagnostics_total'] - len(s['diagnostics_failed'])}/"
                                            f"{s['diagnostics_total']} pass" + (
                                                f"; failed: {', '.join(s['diagnostics_failed'])}"
                                                if s["diagnostics_failed"] else "")),
    ]


def p_text(p: float | None) -> str:
    """A p-value as printed everywhere (report, synopsis, headline): 3 decimals, "< 0.001", "n/a" when missing."""
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def hr_text(hr: dict | None) -> str:
    """'0.38 (95 % CI 0.22-0.65)'; 'not estimable' without a term or its estimate."""
    if not hr or hr.get("hr") is None:
        return "not estimable"
    return f"{hr['hr']:.2f} (95 % CI {hr['lower']:.2f}-{hr['upper']:.2f})"


def analysis_line(name: str, s: dict) -> str:
    """One line per analysis: pairs, deaths, HR (single cycle), log-rank p, max |SMD|, diagnostics."""
    if "not_estimable" in s:
        return f"{name:<12} {s['not_estimable']}"
    failed = s["diagnostics_failed"]
    return (f"{name:<12} {s['pairs']} matched sets; deaths {s['deaths']['treated']} BM-MSC / {s['deaths']['control']} "
            f"control; HR single cycle {hr_text(s['hr'].get('group_single'))}; log-rank p {p_text(s['logrank_p'])}; "
            f"max |SMD| {s['max_abs_smd']:.3f}; diagnostics {s['diagnostics_total'] - len(failed)}/"
            f"{s['diagnostics_total']} pass" + (f" (failed: {', '.join(failed)})" if failed else ""))


def headline_lines(summary: dict, checks: dict[str, int] | None, report: Path | None, study: str,
                   synthetic: bool) -> list[str]:
    """The 8-12 lines a run ends with: study, data, cohorts, one line per analysis, checks (None: none were
    evaluated), the report."""
    lines = [f"study {study}" + ("  [SYNTHETIC DATA: inputs from als-eca generate]" if synthetic else "")]
    for name, s in summary.items():
        if "eligible" in s:
            lines.append(f"eligible     {s['eligible']['treated']} BM-MSC (PMS), {s['eligible']['control']} PRO-ACT "
                         f"placebo ({name} rules)")
    for name, s in summary.items():
        lines.append(analysis_line(name, s))
        if "hr" in s and "group_multiple" in s["hr"]:
            lines.append(f"{'':<12} HR multiple {hr_text(s['hr']['group_multiple'])}; median survival (days) "
                         f"BM-MSC {s['median_days']['treated']}, control {s['median_days']['control']}; RMST "
                         f"difference {s['rmst_difference_days']:+.0f} days at tau {s['rmst_tau_days']:.0f}")
    if checks is not None:
        lines.append(f"checks       {checks['passed']} passed, {checks['warned']} warned, {checks['failed']} failed")
    if report is not None:
        lines.append(f"report       {report}")
    return lines
