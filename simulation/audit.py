"""`als-eca simulate`: the simulation bias audit through the whole pipeline.

For each seed: generate a PRO-ACT download and PMS exports with a known truth (`synthetic.generate`: the
treatment's conditional HR `true_hr`, and from the same draws the true marginal HR among the treated), run the
asset graph on them - the raw load, every dbt model and test, and the analysis assets of the replication, the
aligned analysis and the falsification, with their checks (the report, safety and snapshot are not needed) - and
read the hazard ratios the assets wrote. Seeds run in parallel processes (one per core by default), each on its
own warehouse; the summary (analytics.simulation) gives per analysis and term the mean estimate, bias and 95 % CI
coverage. The falsification's truth is 1 (no treatment in PRO-ACT): its coverage is 1 - the type-I error.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from analytics.simulation import audit_summary

#: What a seed does not need (with everything downstream of it): the steps after the matched analysis, the
#: report and the snapshot. Left out from the end of the graph, so every dbt model and test still runs.
SKIPPED_ASSETS: tuple[str, ...] = ("analysis/balance", "analysis/survival", "analysis/cox_model",
                                   "analysis/progression", "analysis/sensitivity", "analysis/safety_tables",
                                   "analysis/study_report", "publish/analyst_snapshot")
#: The Cox terms whose truth is the treatment's HR (single-cycle and multiple vs control, as the paper's model).
TREATMENT_TERMS: tuple[str, ...] = ("group_single", "group_multiple")


@dataclass(frozen=True)
class AuditConfig:
    seeds: tuple[int, ...]
    true_hr: float
    scale: float = 1.0
    hidden_selection: bool = False
    complete_death_records: bool = False
    workers: int = 2
    keep: bool = False  # keep each seed's data and warehouse, and dbt's logs in the workers' folders


def _rows(seed: int, analysis: str, terms: dict, robust: dict, truth: float, marginal: float) -> list[dict]:
    return [{"seed": seed, "analysis": analysis, "term": term, "truth": truth, "marginal_truth": marginal,
             "hr": terms.get(term, {}).get("hr"), "lower": terms.get(term, {}).get("lower"),
             "upper": terms.get(term, {}).get("upper"), "robust_lower": robust.get(term, {}).get("lower"),
             "robust_upper": robust.get(term, {}).get("upper")} for term in TREATMENT_TERMS]


def estimates_of(analysis_dir: Path, seed: int, truth: float, marginal: float) -> list[dict]:
    """One seed's estimates from what the assets wrote: results.json (the replication), aligned_analysis.json and
    falsification.json. A model that could not be estimated gives a row without an HR (its `error` says why)."""
    def load(name: str) -> dict:
        path = analysis_dir / name
        return json.loads(path.read_text()) if path.exists() else {}

    rows = []
    for analysis, doc in (("replication", load("results.json")), ("aligned", load("aligned_analysis.json"))):
        rows += _rows(seed, analysis, (doc.get("cox") or {}).get("terms", {}),
                      (doc.get("cox_robust") or {}).get("terms", {}), truth, marginal)
    for f in load("falsification.json").get("analyses", []):
        name = f"falsification ({f.get('analysis', 'replication')}): {f['falsification']}"
        rows.append({"seed": seed, "analysis": name, "term": "treated",
                     "truth": 1.0, "marginal_truth": 1.0, "hr": f.get("hr"), "lower": f.get("lower"),
                     "upper": f.get("upper")})
    return rows


#: The seed's phases, timed in each worker (summary.json `throughput.phase_seconds`): the worker's one-off imports
#: (its first seed only), generating the files, the asset graph (raw load, dbt build in the worker's process, the
#: analyses), reading the estimates.
PHASES: tuple[str, ...] = ("imports", "generate", "pipeline", "estimates")


def _worker_folder(work: Path) -> Path:
    """This worker's folder: the seed runs at one fixed path per worker. dbt re-parses its whole project (~3-5 s
    of CPU) whenever the warehouse path in its profile differs from the saved parse state's, so a new path per
    seed would pay that every seed (orchestration.dbt_runner keeps one parse state per warehouse path and vars,
    and the parsed project itself for the worker's life: dbt runs in the worker's process). The worker's own dbt
    target folder (DBT_TARGET_PATH) keeps its dbt run folders and parse state in the audit's temporary folder, not
    in the project's. The project's manifest is brought up to date first, with the project's own target folder:
    dbt parses into DBT_TARGET_PATH, and a parse there would leave the manifest the assets are built from stale."""
    global _worker_folder_path
    if _worker_folder_path is None:
        from orchestration.dbt import dbt_project

        folder = work / f"worker_{os.getpid()}"
        os.environ.pop("DBT_TARGET_PATH", None)
        dbt_project(folder / "run" / "warehouse.duckdb")
        os.environ["DBT_TARGET_PATH"] = str((folder / "dbt_target").resolve())
        _worker_folder_path = folder
    return _worker_folder_path


_worker_folder_path: Path | None = None  # set once per worker process


def run_seed(seed: int, config: AuditConfig, work: Path) -> dict:
    """Generate, run the graph, read the estimates, in this worker's run folder (emptied first); kept as
    `work/seed_<n>` when asked, else removed. The result has the seed's phases in seconds."""
    started = time.monotonic()
    cpu_before = _cpu_seconds()
    phases = dict.fromkeys(PHASES, 0.0)
    log = work / f"seed_{seed}.log"
    # The run's own output (dbt's log, Dagster's events) goes to the seed's log, kept when the run fails: this
    # process runs one seed at a time, so its file descriptors can be redirected whole.
    with open(log, "w") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
    rows: list[dict] = []
    folder = None
    try:
        from orchestration.run import run_pipeline
        from synthetic import generate

        os.environ.pop("DAGSTER_HOME", None)  # an ephemeral instance per seed: the runs share no run database
        folder = _worker_folder(work) / "run"
        shutil.rmtree(folder, ignore_errors=True)  # the previous seed's warehouse and analysis files
        folder.mkdir(parents=True)
        phases["imports"] = time.monotonic() - started
        gen = generate(folder / "data", seed=seed, scale=config.scale, true_hr=config.true_hr,
                       hidden_selection=config.hidden_selection,
                       complete_death_records=config.complete_death_records)
        phases["generate"] = time.monotonic() - started - phases["imports"]
        warehouse = folder / "warehouse.duckdb"
        run = run_pipeline(folder / "data" / "proact", folder / "data" / "pms", warehouse, log_level="ERROR",
                           skip=SKIPPED_ASSETS)
        phases["pipeline"] = time.monotonic() - started - phases["imports"] - phases["generate"]
        rows = estimates_of(warehouse.parent / "analysis", seed, config.true_hr, gen.true_marginal_hr_treated)
        phases["estimates"] = time.monotonic() - started - sum(phases.values())
        error = None if run.success else f"{run.failure} (log: {log})"
    except Exception as exc:  # one seed's failure is reported with the others' results, not a lost audit
        error = f"{type(exc).__name__}: {exc} (log: {log})"
    finally:
        if folder is not None and folder.exists():
            if config.keep:
                kept = work / f"seed_{seed}"
                shutil.rmtree(kept, ignore_errors=True)
                folder.rename(kept)
            else:
                shutil.rmtree(folder, ignore_errors=True)
        if error is None and not config.keep:
            log.unlink(missing_ok=True)
    return {"seed": seed, "rows": rows, "error": error, "seconds": time.monotonic() - started, "phases": phases,
            "cpu_seconds": _cpu_seconds() - cpu_before}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children: what a seed costs the cores,
    whatever else shares them - wall times on a shared machine say more about the neighbours."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_audit(config: AuditConfig, out: Path, on_seed=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every seed (in `config.workers` processes), write `out/estimates.csv` (one row per seed, analysis and
    term), `out/summary.csv` and `out/summary.json` (the summary against the conditional and the marginal truth,
    with the configuration), and return (estimates, summary). `on_seed(result)` reports each finished seed."""
    out = Path(out)
    work = out / "runs"
    work.mkdir(parents=True, exist_ok=True)
    results = []
    started = time.monotonic()
    # spawn: each worker imports Dagster and dbt afresh (no state forked from this process).
    with ProcessPoolExecutor(max_workers=max(1, config.workers), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_seed, seed, config, work) for seed in config.seeds]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_seed is not None:
                on_seed(result)
    wall = time.monotonic() - started
    if not config.keep and not any(r["error"] for r in results):
        shutil.rmtree(work, ignore_errors=True)
    elif not config.keep:  # the workers' folders (their dbt state) go; failed seeds' logs stay
        for folder in work.glob("worker_*"):
            shutil.rmtree(folder, ignore_errors=True)
    if not any(r["rows"] for r in results):
        raise RuntimeError("no seed produced estimates: " + "; ".join(f"seed {r['seed']}: {r['error']}"
                                                                      for r in results))
    estimates = pd.DataFrame([row for r in results for row in r["rows"]]).sort_values(
        ["analysis", "term", "seed"], kind="stable").reset_index(drop=True)
    summary = summarise(estimates)
    estimates.to_csv(out / "estimates.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    failures = {r["seed"]: r["error"] for r in results if r["error"]}
    (out / "summary.json").write_text(json.dumps({
        "config": asdict(config), "failed_runs": failures,
        "seconds_per_seed": sum(r["seconds"] for r in results) / max(len(results), 1),
        "throughput": throughput(results, wall, config.workers),
        "summary": summary.to_dict(orient="records")}, indent=2, default=float) + "\n")
    return estimates, summary


def throughput(results: list[dict], wall_seconds: float, workers: int) -> dict:
    """Seeds per minute of the whole audit (its wall time, worker start-up included), and the mean seconds of
    each phase of a seed (imports: over the seeds that paid them, one per worker)."""
    phases = {}
    for name in PHASES:
        values = [r["phases"][name] for r in results if r.get("phases") and (name != "imports" or r["phases"][name])]
        phases[name] = sum(values) / len(values) if values else 0.0
    cpu = [r["cpu_seconds"] for r in results if "cpu_seconds" in r]
    return {"seeds": len(results), "workers": workers, "wall_seconds": wall_seconds,
            "seeds_per_minute": 60 * len(results) / wall_seconds if wall_seconds > 0 else float("nan"),
            "phase_seconds": phases, "cpu_seconds_per_seed": sum(cpu) / len(cpu) if cpu else float("nan")}


def throughput_line(doc: dict) -> str:
    """The audit's speed in one line (what `als-eca simulate` prints last)."""
    t = doc["throughput"]
    phases = ", ".join(f"{name} {t['phase_seconds'][name]:.1f}" for name in PHASES)
    return (f"{t['seeds']} seeds in {t['wall_seconds'] / 60:.1f} min on {t['workers']} workers: "
            f"{t['seeds_per_minute']:.2f} seeds per minute (per seed, mean seconds: {phases}; "
            f"{t['cpu_seconds_per_seed']:.0f} CPU seconds)")


def summarise(estimates: pd.DataFrame) -> pd.DataFrame:
    """The audit summary of the treatment terms against the conditional truth (`true_hr`, the generator's
    parameter) and the marginal truth among the treated (what a matched analysis estimates when prognostic factors
    stay out of its model), with the model-based and the pair-clustered robust CIs; the falsifications against
    their null (HR 1)."""
    fals = estimates["analysis"].str.startswith("falsification")
    treatment = estimates[~fals]
    parts = [audit_summary(estimates[fals]).assign(truth_kind="null", ci="model")] if fals.any() else []
    for truth, kind in (("truth", "conditional"), ("marginal_truth", "marginal")):
        for lower, upper, ci in (("lower", "upper", "model"), ("robust_lower", "robust_upper", "robust")):
            e = treatment[["seed", "analysis", "term", "hr"]].assign(
                truth=treatment[truth], lower=treatment[lower], upper=treatment[upper])
            parts.append(audit_summary(e).assign(truth_kind=kind, ci=ci))
    return pd.concat(parts[1:] + parts[:1] if fals.any() else parts, ignore_index=True)


def markdown_table(summary: pd.DataFrame) -> list[str]:
    """Summary rows as Markdown table lines (the command's output, results.md)."""
    lines = ["| analysis | term | truth | CI | estimable | truth HR | mean HR | bias (log HR) +- MCSE | emp. SE "
             "| coverage +- MCSE | CI excludes 1 |", "|" + "---|" * 11]
    for r in summary.itertuples():
        lines.append(f"| {r.analysis} | {r.term} | {r.truth_kind} | {r.ci} | {r.estimable}/{r.seeds} "
                     f"| {r.truth:.3f} | {r.mean_hr:.3f} | {r.bias_log_hr:+.3f} +- {r.bias_mcse:.3f} "
                     f"| {r.empirical_se:.3f} | {r.coverage:.2f} +- {r.coverage_mcse:.2f} | {r.ci_excludes_1:.2f} |")
    return lines


def format_summary(summary: pd.DataFrame, config: AuditConfig) -> str:
    """The configuration and the whole summary (what `als-eca simulate` prints and writes to summary.md)."""
    return "\n".join([f"true conditional HR {config.true_hr}, {len(config.seeds)} seeds, scale {config.scale}, "
                      f"hidden selection {'on' if config.hidden_selection else 'off'}, "
                      f"{'complete' if config.complete_death_records else 'calibrated'} PRO-ACT death records", "",
                      *markdown_table(summary)])
