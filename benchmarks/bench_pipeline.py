"""Benchmark: the whole asset graph (`als-eca run`) cold, re-run with nothing changed, at several scales, each in
its own process (wall time and the peak RSS of its process tree).

uv run --frozen python -m benchmarks.bench_pipeline [--scales 1 10] [--data-root data/bench]

`make bench` runs these same runs through benchmarks.bench_peer, which times the R peer beside each cold run and
writes this section too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchmarks.common import (
    REPO,
    ChildRun,
    RunFailed,
    als_eca_run,
    ensure_data,
    fresh_warehouse,
    reference_loop_seconds,
    write_section,
)

#: One cold run of ours at (scale, index among the scale's cold runs): runs it (the argument) and returns it. The
#: peer benchmark wraps it to time its R script beside each cold run, in alternating order.
ColdHook = Callable[[float, Path, Path, int, Callable[[], ChildRun]], ChildRun]


def _plain_cold(scale: float, data: Path, warehouse: Path, index: int, run_cold: Callable[[], ChildRun]) -> ChildRun:
    return run_cold()


def cold_run(data: Path, warehouse: Path) -> ChildRun:
    """A cold run: the warehouse deleted, then built from nothing at the same path."""
    fresh_warehouse(warehouse)
    return als_eca_run(data, warehouse, force=True)[0]


def new_pms_export_run(data: Path, tmp: Path) -> dict:
    """A scheduled refresh after a new PMS export: a warehouse built (not timed) from the same PRO-ACT files and
    every PMS export but the newest, then the newest export added and `als-eca run` timed: it finds that only
    the PMS exports changed and runs refresh_pms (raw_pms and what depends on it; PRO-ACT's raw tables and
    models are left as they are). The folders are links to the benchmark's data, nothing is copied."""
    exports = sorted(p for p in (data / "pms").iterdir() if p.is_dir())
    if len(exports) < 2:
        raise ValueError(f"{data / 'pms'} holds {len(exports)} PMS export(s): a new-export run needs two or more")
    staged = tmp / "new_export"
    (staged / "pms").mkdir(parents=True)
    (staged / "proact").symlink_to((data / "proact").resolve(), target_is_directory=True)
    for export in exports[:-1]:
        (staged / "pms" / export.name).symlink_to(export.resolve(), target_is_directory=True)
    warehouse = staged / "warehouse.duckdb"
    als_eca_run(staged, warehouse, force=True)
    (staged / "pms" / exports[-1].name).symlink_to(exports[-1].resolve(), target_is_directory=True)
    done, line = als_eca_run(staged, warehouse, force=False)
    return {"incremental_s": done.seconds, "incremental_line": line}


def run(scales: list[float], root: Path, repeats: int, around_cold: ColdHook = _plain_cold,
        one_cold_above_10: bool = False) -> list[dict]:
    """Per scale on one new warehouse path: a first run, `repeats` cold runs (scales <= 10; one at larger scales
    when `one_cold_above_10`), a re-run with nothing changed and a forced re-run (scales <= 10)."""
    rows = []
    for scale in scales:
        data = ensure_data(scale, root)
        loop = reference_loop_seconds()
        try:
            with tempfile.TemporaryDirectory(dir=root) as tmp:
                warehouse = Path(tmp) / "warehouse.duckdb"
                # First run on a warehouse path never used before: dbt re-parses its whole project (its profile,
                # which names the warehouse path, differs from the saved parse state).
                first, _ = als_eca_run(data, warehouse, force=True)
                colds = [around_cold(scale, data, warehouse, i, partial(cold_run, data, warehouse))
                         for i in range(repeats if scale <= 10 else int(one_cold_above_10))]
                noop, line = als_eca_run(data, warehouse, force=False)
                forced = als_eca_run(data, warehouse, force=True)[0].seconds if scale <= 10 else float("nan")
                incremental = new_pms_export_run(data, Path(tmp))
        except RunFailed as failed:  # the other scales still run; the section says how this one ended
            print(f"whole graph, scale {scale:g}: {failed}", flush=True)
            rows.append({"scale": scale, "error": str(failed), "failure": failed,
                         "peak_rss_mib": failed.run.peak_rss_mib, "loop_s": loop})
            continue
        cold_s = [c.seconds for c in colds]
        row = {"scale": scale, "new_path_s": first.seconds,
               "cold_s": statistics.median(cold_s) if colds else float("nan"), "colds": cold_s,
               "cold_peak_rss_mib": max((c.peak_rss_mib for c in colds), default=float("nan")),
               "noop_s": noop.seconds, "forced_rerun_s": forced, "peak_rss_mib": first.peak_rss_mib,
               "noop_line": line, "loop_s": loop}
        if incremental:
            row.update(incremental)
            row["incremental_share"] = row["incremental_s"] / row["cold_s"]
        rows.append(row)
        print(f"whole graph, scale {scale:g}: first run on a new path {first.seconds:.1f} s, cold "
              f"{row['cold_s']:.1f} s {[round(c, 1) for c in cold_s]}, nothing changed {noop.seconds:.1f} s, forced "
              f"re-run {forced:.1f} s, peak RSS {first.peak_rss_mib:.0f} MiB, reference loop {loop:.2f} s", flush=True)
    return rows


def _cell(value: float) -> str:
    return "" if value != value else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--data-root", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs at scales <= 10 (the median is reported)")
    args = parser.parse_args()
    args.data_root.mkdir(parents=True, exist_ok=True)
    write_results(run(args.scales, args.data_root, args.repeats))


def write_results(rows: list[dict]) -> None:
    """The "Whole graph" section of results.md."""
    write_section("Whole graph", [
        "Goals at scale 1: cold <= 30 s, re-run with nothing changed <= 10 s; peak memory at scale 100 <= 4 GiB.",
        "Each run is `als-eca run` in a fresh process, one after another on one warehouse path: first run on that "
        "path (dbt re-parses its project, since its profile names the warehouse path); cold: the warehouse, its "
        "snapshot and its run stamp deleted, so everything is built from nothing (median of the runs listed); "
        "nothing changed: a plain re-run; forced: `--force` on the built warehouse; new PMS export: the newest "
        "export added to a warehouse built from the earlier ones, so the run is refresh_pms (its share of cold in "
        "brackets). Peak RSS: the first run's process tree (dbt runs inside the run's process, Great "
        "Expectations in a worker beside it): the larger of the summed RSS sampled every 100 ms and the largest "
        "process's own high-water mark (wait4). Each run uses a persistent Dagster instance of the benchmark's "
        "own (the repository's dagster.yaml, storage in the benchmark's folder), as `make demo` and scheduled runs "
        "store their history. Reference loop: a fixed pure-Python loop timed just before, for the host's speed (it "
        "varies by up to ~1.6x here from minute to minute).", "",
        "| scale | first run, new path (s) | cold (s) | cold runs (s) | nothing changed (s) | forced re-run (s) "
        "| new PMS export (s) | peak RSS (MiB) | reference loop (s) |",
        "|---|---|---|---|---|---|---|---|---|",
        *[f"| {r['scale']:g} | failed (below) | | | | | | {r['peak_rss_mib']:.0f} | {r['loop_s']:.2f} |"
          if "error" in r else
          f"| {r['scale']:g} | {r['new_path_s']:.1f} | {_cell(r['cold_s'])} | "
          f"{', '.join(f'{c:.1f}' for c in r['colds'])} | {r['noop_s']:.1f} | {_cell(r['forced_rerun_s'])} | "
          f"{_incremental_cell(r)} | {r['peak_rss_mib']:.0f} | {r['loop_s']:.2f} |" for r in rows],
        "", *verdicts(rows), "", NOTES,
    ])


def _incremental_cell(row: dict) -> str:
    if "incremental_s" not in row:
        return ""
    job = "" if "refresh_pms" in row["incremental_line"] else f" ({row['incremental_line'] or 'no status line'})"
    return f"{row['incremental_s']:.1f} ({row['incremental_share']:.0%}){job}"


def _verdict(what: str, value: float, goal: float, unit: str, digits: int = 1) -> str:
    return f"- {what}: {value:.{digits}f} {unit}, goal {goal:g} {unit}: " + (
        "met." if value <= goal else f"missed by {value - goal:.{digits}f} {unit}.")


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if "error" in r:
            out.append(f"- Scale {r['scale']:g}: failed: {r['error']}.")
        if r["scale"] == 1 and "error" not in r:
            out += [_verdict("Scale 1 cold", r["cold_s"], 30, "s"),
                    _verdict("Scale 1 nothing changed", r["noop_s"], 10, "s")]
            if "incremental_s" in r:
                share = r["incremental_share"]
                out.append(f"- Scale 1 new PMS export: {r['incremental_s']:.1f} s, {share:.0%} of cold, goal <= 40 %: "
                           + ("met." if share <= 0.40 else f"missed by {100 * (share - 0.40):.0f} points."))
        if r["scale"] != 1 and "incremental_s" in r and r["incremental_share"] == r["incremental_share"]:
            out.append(f"- Scale {r['scale']:g} new PMS export: {r['incremental_s']:.1f} s, "
                       f"{r['incremental_share']:.0%} of cold (the goal is set at scale 1; shown for how the share "
                       "falls as PRO-ACT's part of the work grows).")
        if r["scale"] == 100:
            out.append(_verdict("Scale 100 peak memory", r["peak_rss_mib"] / 1024, 4, "GiB", digits=2))
    return out


NOTES = """Where the time goes (measured by hand on 2026-12-06 on this machine, reference loop ~0.31 s, i.e. ~1.5x \
slower than on 2026-11-26; one cold scale-1 run there was ~23.4 s): Python start and imports 0.5 s; building the \
definitions 2.0 s, almost all of it importing dagster-dbt and the dbt-core it loads (dbt now runs in this process \
and needs them anyway); the raw loads 4.3 s, of which importing Great Expectations (~3 s of CPU, on a second \
thread) shared the interpreter with the loads (GX now imports in a worker process of its own: the raw loads 2.1 s, \
while the first analysis step imports SciPy itself, ~0.9 s, which GX's import had brought in; "Root-cause \
fixes"); the dbt step 7.8 s (the project parse from the saved state \
0.2-1 s, `dbt build` ~5 s: 40 models and seeds ~2.3 s, the 206 tests ~2.5 s, dbt's per-node cost rather than \
DuckDB's; the warehouse's checkpoint on closing 0.3 s); the analysis steps 4.5 s (10 figures rendered 1.9 s); the \
snapshot 1.1 s; 61 check steps 1.7 s; Dagster between the 87 steps 1.6 s. At scale 100 (one cold run, 195 s \
wall, peak RSS 3.1 GiB): PRO-ACT's raw load 65.7 s, the dbt step 41.7 s (52 s of SQL on two threads, led by \
int_alsfrs_assessments 11.9 s, int_patients 9.8 s, int_proact__subjects 7.1 s, fct_visit 6.4 s), the PMS load \
16.4 s (10.7 s the questionnaire domain), the snapshot 14.9 s and its identifier scan 4.0 s, the falsification \
analyses 11.2 s (9.4 s after the Cox change in "Root-cause fixes"), the GX suites ~10 s. Measured and not \
adopted: the dbt tests run as plain SQL by the check steps instead of as dbt nodes: dbt would no longer skip \
the models downstream of a failed test, so a mart would be rebuilt on input a blocking test rejected; one dbt \
test per model and severity with each rule a row of its result (~2 s less at scale 1): a failed check would \
lose its own compiled SQL and failing-row sample.

Why a new PMS export costs most of a cold run at scale 1: refresh_pms leaves out PRO-ACT's raw loads, their \
suites and the PRO-ACT-only models and tests (38 of 81 assets, 63 of 206 dbt tests), but every mart holds PMS \
patients and every analysis step reads the treated arm, so the marts, the analyses, the report and the snapshot \
are all rebuilt, and the fixed costs (imports and definitions ~2.5 s, dbt's per-node cost, Dagster's per-step \
work, SciPy's and matplotlib's imports) are paid in full whatever the data size. The share falls as PRO-ACT's \
part of the work grows (the rows for scales 10 and 100).
"""


if __name__ == "__main__":
    main()
