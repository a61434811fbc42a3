"""The `als-eca` command line.

Heavy libraries (Dagster, dbt, Great Expectations, matplotlib) are imported inside the commands, so that
`als-eca --help` answers at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="ALS external-control studies: synthetic data, the warehouse pipeline and the matched analysis.",
    no_args_is_help=True,
    add_completion=False,
)
_DEBUG = {"on": False}


@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False) -> None:
    _DEBUG["on"] = debug


def _user_error(message: object, code: int = 2) -> typer.Exit:
    """One line on stderr and the exit code."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


@contextmanager
def _user_errors(*kinds: type[BaseException], code: int = 2) -> Iterator[None]:
    """Errors of these kinds are the user's (a path, a setting, a busy warehouse): one line and `code`, no
    traceback - unless --debug."""
    try:
        yield
    except kinds as exc:
        if _DEBUG["on"]:
            raise
        raise _user_error(exc, code) from None


def _require_folder(path: Path, what: str) -> None:
    if not path.is_dir():
        raise _user_error(f"{what} {path} {'is not a folder' if path.exists() else 'does not exist'}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write proact/ and pms/ into.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 20230401,
    scale: Annotated[float, typer.Option(help="Multiplies subject counts (1 = the paper's cohort sizes).")] = 1.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    true_hr: Annotated[float | None, typer.Option(help="The treatment's true conditional hazard ratio "
                                                      "(default: the calibrated one).")] = None,
) -> None:
    """Write a calibrated synthetic PRO-ACT download and PMS exports in the real file formats."""
    if out.exists() and not out.is_dir():
        raise _user_error(f"--out {out} is a file, not a folder")
    if scale <= 0:
        raise _user_error(f"--scale {scale}: must be positive")
    if true_hr is not None and true_hr <= 0:
        raise _user_error(f"--true-hr {true_hr}: must be positive")
    import synthetic

    summary = synthetic.generate(out, seed=seed, scale=scale, progress=progress,
                                 **({"true_hr": true_hr} if true_hr is not None else {}))
    typer.echo(f"wrote {out}/proact and {out}/pms")
    typer.echo(str(summary))


@app.command()
def simulate(
    seeds: Annotated[int, typer.Option(help="How many data sets to generate and analyse.")] = 20,
    true_hr: Annotated[float | None, typer.Option(help="The treatment's true conditional HR (default: the "
                                                      "generator's calibrated one).")] = None,
    first_seed: Annotated[int, typer.Option(help="Seeds first_seed .. first_seed + seeds - 1.")] = 1,
    scale: Annotated[float, typer.Option(help="Cohort sizes (1 = the paper's).")] = 1.0,
    hidden_selection: Annotated[bool, typer.Option(help="Keep the generator's selection the PS cannot see (treated "
                                                        "patients progress more slowly): a bias no design removes; "
                                                        "off by default, so the audit measures the design's rules.")]
    = False,
    complete_death_records: Annotated[bool, typer.Option(help="List every in-trial PRO-ACT death in DEATHDATA (the "
                                                              "calibrated file misses ~40 %, as the real "
                                                              "download's counts imply).")] = False,
    workers: Annotated[int, typer.Option(help="Parallel runs (default: one per core).")] = os.cpu_count() or 1,
    out: Annotated[Path | None, typer.Option(help="Where estimates.csv, summary.csv/json and summary.md go "
                                                  "(default: simulation/ beside the warehouse, where the study "
                                                  "report reads it).")] = None,
    keep: Annotated[bool, typer.Option(help="Keep each seed's data and warehouse under OUT/runs.")] = False,
) -> None:
    """The simulation bias audit: generate data with a known true HR, run the graph (raw load, dbt, the replication,
    aligned and falsification analyses) per seed, and report per analysis the mean estimate, bias and 95 % CI
    coverage of the truth (docs/study_design.md)."""
    if seeds < 1 or scale <= 0 or workers < 1 or (true_hr is not None and true_hr <= 0):
        raise _user_error("--seeds and --workers must be >= 1, --scale and --true-hr positive")
    from als_eca.settings import get_settings
    from simulation.audit import AuditConfig, format_summary, run_audit, throughput_line
    from synthetic import calibration as cal

    out = out or get_settings().warehouse.parent / "simulation"
    config = AuditConfig(seeds=tuple(range(first_seed, first_seed + seeds)), true_hr=true_hr or cal.TRUE_TREATMENT_HR,
                         scale=scale, hidden_selection=hidden_selection,
                         complete_death_records=complete_death_records, workers=min(workers, seeds), keep=keep)
    typer.echo(f"simulation audit: {seeds} seeds on {config.workers} workers, true HR {config.true_hr} "
               f"(each seed: generate, load, dbt build, three analyses)")
    done = []

    def on_seed(r: dict) -> None:
        done.append(r)
        hrs = ", ".join(f"{row['analysis']} {row['term']} {row['hr']:.2f}" for row in r["rows"]
                        if row["term"] == "group_single" and row["hr"] is not None)
        status = f"FAILED: {r['error']}" if r["error"] else hrs
        typer.echo(f"  [{len(done)}/{seeds}] seed {r['seed']} ({r['seconds']:.0f} s): {status}")

    _, summary = run_audit(config, out, on_seed=on_seed)
    text = format_summary(summary, config)
    (out / "summary.md").write_text(text + "\n", encoding="utf-8")
    typer.echo(text)
    typer.echo(f"estimates and summary: {out}")
    typer.echo(throughput_line(json.loads((out / "summary.json").read_text())))
    if any(r["error"] for r in done):
        raise typer.Exit(1)


@app.command()
def calibration(
    data: Annotated[Path, typer.Argument(help="Folder written by `als-eca generate` at scale 1.")],
    scale: Annotated[float, typer.Option(help="The scale the data was generated at.")] = 1.0,
    results: Annotated[Path | None, typer.Option(help="A results.json the pipeline wrote for this data: the matched "
                                                      "outcome is read from it instead of computed here.")] = None,
) -> None:
    """Compare generated data with the paper's published figures (a table: figure | paper | generated), then
    how subjects spread over the PRO-ACT files beside the real download's structure, then the matched outcome
    under the paper's rules (deaths, control median, RMST, Cox HRs) beside the paper's Results."""
    _require_folder(data, "data folder")
    if results is not None and not results.is_file():
        raise _user_error(f"--results {results} {'is not a file' if results.exists() else 'does not exist'}")
    from synthetic.measure import (
        cross_file_figures,
        files_table,
        matched_outcome,
        measure,
        outcome_table,
        subjects_across_files,
        table,
    )

    figures = measure(data, scale=scale)
    typer.echo(table(figures))
    files = subjects_across_files(data, scale=scale)
    cross = cross_file_figures(data, scale=scale)
    typer.echo("\nPRO-ACT subjects across files (real: measured on the ~2023 download, synthetic/calibration.py)")
    typer.echo(files_table(files))
    typer.echo("")
    typer.echo(table(cross, reference="real download"))
    outcome = matched_outcome(data, results=results, scale=scale)
    source = f"read from {results}" if results is not None else "computed from the files as the pipeline would"
    typer.echo(f"\nMatched outcome under the paper's rules ({source}; synthetic/calibration.py)")
    typer.echo(outcome_table(outcome))
    figures = figures + files + cross + outcome
    misses = [f.name.strip() for f in figures if not f.ok]
    if misses:
        typer.echo(f"outside tolerance: {', '.join(misses)}", err=True)
        raise typer.Exit(code=1)


@app.command()
def analyze(
    cohort: Annotated[Path, typer.Argument(help="CSV (or Parquet) with the columns of mart_survival_cohort.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and figures.")],
    tau: Annotated[float | None, typer.Option(help="RMST horizon in days (default: the study's; nam2023: the last "
                                                   "time with 10 at risk in both arms).")] = None,
    caliper: Annotated[float | None, typer.Option(help="Caliper in SDs of the propensity score (default: the "
                                                       "study's).")] = None,
    ratio: Annotated[int | None, typer.Option(help="Controls per treated patient (default: the study's).")] = None,
    study: Annotated[Path | None, typer.Option(help="Study spec YAML whose matching, outcome and horizon options "
                                                    "apply (default: studies/nam2023.yml); flags override it.")] = None,
    analysis: Annotated[str, typer.Option(help="The rules: 'replication' (the paper's) or 'aligned' (time zero at a "
                                               "landmark known in both arms, outcome ascertained alike).")] = "replication",
) -> None:
    """Propensity-score matching and survival analysis of a cohort file; writes DIR/results.json, figures and the
    sensitivity analyses (the files the analysis assets write, under the same names)."""
    from als_eca.study.analyze import analyze_cohort_file
    from als_eca.study.spec import StudySpecError, load_study

    with _user_errors(StudySpecError):
        loaded = load_study(study)
    if not cohort.is_file():
        raise _user_error(f"cohort file {cohort} {'is not a file' if cohort.exists() else 'does not exist'}")
    if out.exists() and not out.is_dir():
        raise _user_error(f"--out {out} is a file, not a folder")
    with _user_errors(ValueError, FileNotFoundError):
        results_path = analyze_cohort_file(cohort, out, tau=tau, caliper=caliper, ratio=ratio,
                                           analysis=analysis, study=loaded)
    typer.echo(f"results: {results_path}")


@app.command()
def inspect(
    directory: Annotated[Path, typer.Argument(help="A PRO-ACT download, a folder of pms_export_* deliveries, one "
                                                   "delivery, or a folder holding proact/ and pms/.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    cohort: Annotated[bool, typer.Option(help="Also compute the cohort flow (runs the dbt models on a temporary "
                                              "copy; a few seconds).")] = True,
) -> None:
    """Describe a new download or export before loading it: per form the file matched, rows, subjects, unknown or
    missing columns, rows that would be quarantined and why; subjects across files; the cohort flow. Reads the
    files through the run's own loader; writes no warehouse."""
    from als_eca.ingest.discover import DiscoveryError
    from als_eca.ingest.inspection import inspect as inspect_folder
    from als_eca.ingest.inspection import render

    with _user_errors(FileNotFoundError, DiscoveryError):
        report = inspect_folder(directory, cohort=cohort)
    typer.echo(report.to_json() if as_json else render(report))
    if any(f.status == "error" for f in report.forms):
        raise typer.Exit(code=1)


def _headline(summary) -> list[str]:
    """The lines a run ends with (als_eca.study.synopsis): the result, the checks, where the report is."""
    import json

    from als_eca.study.synopsis import headline_lines, synopsis

    analysis = summary.warehouse.resolve().parent / "analysis"
    provenance = analysis / "provenance.json"
    record = json.loads(provenance.read_text()) if provenance.is_file() else {}
    warned = sum(c.endswith("(WARN)") for c in summary.failed_checks)
    checks = None if summary.up_to_date else {  # (nothing ran: the last run's figures, no checks evaluated)
        "passed": summary.checks_evaluated - len(summary.failed_checks), "warned": warned,
        "failed": len(summary.failed_checks) - warned}
    return headline_lines(synopsis(analysis), checks, summary.report, (record.get("study") or {}).get("id", "?"),
                          bool(record.get("synthetic")))


@app.command()
def run(
    proact: Annotated[Path | None, typer.Option(help="PRO-ACT folder (default: ALS_ECA_PROACT_DIR).")] = None,
    pms: Annotated[Path | None, typer.Option(help="Folder of pms_export_* deliveries (default: ALS_ECA_PMS_DIR).")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB file (default: ALS_ECA_WAREHOUSE).")] = None,
    force: Annotated[bool, typer.Option(help="Run even when no source file and no code changed since the last "
                                             "successful run.")] = False,
    wait: Annotated[bool, typer.Option(help="When another run is writing the warehouse, wait for it (--no-wait: "
                                            "fail at once, naming it).")] = True,
    study: Annotated[Path | None, typer.Option(help="Study spec YAML (default: ALS_ECA_STUDY, else "
                                                    "studies/nam2023.yml).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Dagster's full log, with dbt's line per node "
                                                            "(default: one line per finished step).")] = False,
    pms_as_of: Annotated[str | None, typer.Option("--pms-as-of", metavar="YYYY-MM-DD",
                                                  help="Run an earlier data cut: the newest PMS export on or before "
                                                       "this date (default: ALS_ECA_PMS_AS_OF, else the newest).")]
    = None,
) -> None:
    """Materialise the whole asset graph in-process: raw files -> DuckDB -> dbt marts -> analysis -> report."""
    from als_eca.ingest.discover import DiscoveryError
    from als_eca.settings import SettingsError
    from als_eca.study.spec import StudySpecError
    from als_eca.warehouse_lock import WarehouseLocked
    from orchestration.run import run_pipeline

    with _user_errors(SettingsError, DiscoveryError), _user_errors(StudySpecError), \
            _user_errors(WarehouseLocked, code=3):
        summary = run_pipeline(proact=proact, pms=pms, warehouse=warehouse, force=force, wait=wait,
                               on_wait=lambda message: typer.echo(message, err=True), study=study,
                               verbose=verbose, pms_as_of=pms_as_of)
    if summary.up_to_date:
        typer.echo(f"up to date: no source file or code changed since run {summary.run_id} (--force to rerun)")
    else:
        typer.echo(f"run {summary.run_id} ({summary.job}): {len(summary.materialised)} assets materialised into "
                   f"{summary.warehouse}")
    for check in summary.failed_checks:
        typer.echo(f"check failed: {check}", err=True)
    if summary.success:
        typer.echo("\n".join(["", *_headline(summary)]))
    if not summary.success:
        typer.echo(f"error: {summary.failure}", err=True)
        raise typer.Exit(code=1)


@app.command()
def cuts(
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB file whose runs recorded the cuts (default: "
                                                        "ALS_ECA_WAREHOUSE); they are in cuts/ beside it.")] = None,
    study: Annotated[str | None, typer.Option(help="Only this study id (default: every study with a cut).")] = None,
) -> None:
    """The recorded results by data cut: per study, one row per PMS export run and analysis - eligible, matched
    sets, deaths, HRs with CI, log-rank p and the run (each cut's latest run)."""
    from als_eca.settings import SettingsError, get_settings
    from als_eca.study.cuts import CUT_COLUMNS, CUTS_DIR, cut_rows, read_cuts, studies

    with _user_errors(SettingsError):
        folder = get_settings(warehouse=warehouse).warehouse.parent / CUTS_DIR
    found = [study] if study else studies(folder)
    if not found or not any(read_cuts(folder, s) for s in found):
        raise _user_error(f"no data cut recorded in {folder}" + (f" for study {study}" if study else "")
                          + " (each `als-eca run` records its cut; --pms-as-of YYYY-MM-DD runs an earlier one)", 1)
    for name in found:
        rows = [CUT_COLUMNS, *cut_rows(read_cuts(folder, name))]
        widths = [max(len(r[i]) for r in rows) for i in range(len(CUT_COLUMNS))]
        typer.echo(f"study {name}")
        for r in rows:
            typer.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        typer.echo("")


if __name__ == "__main__":
    app()
