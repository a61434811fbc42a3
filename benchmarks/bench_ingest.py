"""Benchmark: loading every raw file (schema contract, quarantine, audit, pseudonyms) against the floor, a bare
DuckDB `CREATE TABLE ... AS SELECT * FROM read_csv(...)` of the same files into a fresh database file.

uv run --frozen python -m benchmarks.bench_ingest [--scale 100] [--data DIR]

Each side runs in its own process, so peak RSS is that side's own. Data are generated once per scale under
data/bench/scale_<N>/ (git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _ensure_data(scale: float, data: Path | None) -> Path:
    if data is not None:
        return data
    out = REPO / "data" / "bench" / f"scale_{scale:g}"
    if not (out / "proact").is_dir():
        import synthetic

        print(f"generating scale {scale:g} data into {out} ...", flush=True)
        synthetic.generate(out, seed=20230401, scale=scale, progress=True)
    return out


def _child(side: str, data: Path, db: Path) -> dict:
    """Run in a fresh process: load everything one way, report wall time and this process's peak RSS."""
    import duckdb

    from als_eca.ingest import discover_pms, discover_proact, load_source

    sources = [s for s in (*discover_proact(data / "proact"), *discover_pms(data / "pms")) if s.path is not None]
    con = duckdb.connect(str(db))
    t = time.perf_counter()
    rows = 0
    if side == "floor":
        con.execute("CREATE SCHEMA raw")
        for s in sources:
            con.execute(f"CREATE TABLE raw.{s.schema.table} AS SELECT * FROM read_csv(?)", [str(s.path)])
            rows += con.execute(f"SELECT count(*) FROM raw.{s.schema.table}").fetchone()[0]
    else:
        os.environ.setdefault("ALS_ECA_PSEUDONYM_KEY", "benchmark-key")
        for s in sources:
            rows += load_source(con, s).rows_loaded
    con.close()
    wall = time.perf_counter() - t
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"side": side, "seconds": wall, "peak_rss_mib": peak_mib, "rows": rows,
            "bytes": sum(s.path.stat().st_size for s in sources)}


def run(scale: float, data: Path | None = None) -> dict:
    data = _ensure_data(scale, data)
    results: dict = {}
    for side in ("floor", "loader"):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, __file__, "--child", side, "--data", str(data), "--db", f"{tmp}/w.duckdb"],
                capture_output=True, text=True, check=True, cwd=REPO,
            ).stdout
        results[side] = json.loads(out.strip().splitlines()[-1])
    ratio = results["loader"]["seconds"] / results["floor"]["seconds"]
    gib = results["floor"]["bytes"] / 2**30
    print(f"ingestion, scale {scale:g} ({gib:.2f} GiB of CSV, {results['loader']['rows']:,} rows loaded)")
    print(f"  floor  (bare read_csv CTAS): {results['floor']['seconds']:7.2f} s  peak {results['floor']['peak_rss_mib']:7.0f} MiB")
    print(f"  loader (contract+quarantine): {results['loader']['seconds']:6.2f} s  peak {results['loader']['peak_rss_mib']:7.0f} MiB")
    print(f"  ratio loader/floor: {ratio:.2f} (goal <= 1.5)")
    return {"scale": scale, "ratio": ratio, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--child", choices=["floor", "loader"])
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.data, args.db)))
    else:
        r = run(args.scale, args.data)
        from benchmarks.common import write_section

        write_section("Ingestion", [
            "Goal: the loader (schema contract, typing, quarantine rules, pseudonyms, checksums, audit) within 1.5x "
            "of a bare `CREATE TABLE AS SELECT * FROM read_csv(...)` of the same files.", "",
            "| scale | CSV (GiB) | rows | bare read_csv (s) | loader (s) | ratio | loader peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|",
            f"| {r['scale']:g} | {r['floor']['bytes'] / 2**30:.2f} | {r['loader']['rows']:,} | "
            f"{r['floor']['seconds']:.1f} | {r['loader']['seconds']:.1f} | {r['ratio']:.2f} | "
            f"{r['loader']['peak_rss_mib']:.0f} |",
            "", "Before/after: the first version (three materialisations per file, a window for line numbers, trim() "
            "in every cast) ran at 3.44x the floor at scale 10; one scan per file: 1.32x at scale 10, 1.74x at "
            "scale 100; checksum overlapped with the scan and an Arrow lookup for PMS pseudonyms: 1.63x; DuckDB's "
            "CSV reader parsing the declared types (no TRY_CAST): 1.54x; PMS pseudonyms by an inline ENUM lookup "
            "(hash lookup in DuckDB, row order kept) instead of the Arrow UDF: 1.37x at scale 100.",
        ])


if __name__ == "__main__":
    main()
