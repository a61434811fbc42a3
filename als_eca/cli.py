"""The `als-eca` command line.

Heavy libraries (Dagster, dbt, Great Expectations, matplotlib) are imported inside the commands, so that
`als-eca --help` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="ALS external-control studies: synthetic data, the warehouse pipeline and the matched analysis.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write proact/ and pms/ into.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 20230401,
    scale: Annotated[float, typer.Option(help="Multiplies subject counts (1 = the paper's cohort sizes).")] = 1.0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write a calibrated synthetic PRO-ACT download and PMS exports in the real file formats."""
    import synthetic

    summary = synthetic.generate(out, seed=seed, scale=scale, progress=progress)
    typer.echo(f"wrote {out}/proact and {out}/pms")
    typer.echo(str(summary))


@app.command()
def run(
    proact: Annotated[Path | None, typer.Option(help="PRO-ACT folder (default: $ALS_ECA_PROACT_DIR).")] = None,
    pms: Annotated[Path | None, typer.Option(help="Folder of pms_export_* deliveries (default: $ALS_ECA_PMS_DIR).")] = None,
    warehouse: Annotated[Path | None, typer.Option(help="DuckDB file (default: $ALS_ECA_WAREHOUSE).")] = None,
) -> None:
    """Materialise the whole asset graph in-process: raw tables, dbt marts, checks, analysis and report."""
    from als_eca.pipeline import run_pipeline

    ok = run_pipeline(proact_dir=proact, pms_dir=pms, warehouse=warehouse)
    raise typer.Exit(code=0 if ok else 1)


@app.command()
def analyze(
    cohort: Annotated[Path, typer.Argument(help="CSV with the columns of mart_survival_cohort.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for results.json and figures.")],
    tau: Annotated[float | None, typer.Option(help="RMST horizon in days (default: the smaller group maximum).")] = None,
    caliper: Annotated[float | None, typer.Option(help="Caliper in SDs of the propensity score.")] = None,
    ratio: Annotated[int, typer.Option(help="Controls per treated patient (k:1 matching).")] = 1,
) -> None:
    """Propensity-score matching and survival analysis of a cohort file; writes DIR/results.json and figures."""
    from als_eca.analyze import analyze_cohort_file

    results_path = analyze_cohort_file(cohort, out, tau=tau, caliper=caliper, ratio=ratio)
    typer.echo(f"results: {results_path}")


if __name__ == "__main__":
    app()
