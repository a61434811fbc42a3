"""`make bench`: every benchmark at its full size; each prints its figures and rewrites its section of
benchmarks/results.md. Large inputs are generated once under data/bench/ (git-ignored) and reused."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["benchmarks.bench_matching"],
    ["benchmarks.bench_survival"],
    ["benchmarks.bench_ingest", "--scale", "100"],
    # The whole graph's runs and, beside each cold one, the R peer's (one set of cold runs for both sections).
    ["benchmarks.bench_peer", "--scales", "1", "10", "100"],
    ["benchmarks.bench_simulation", "--seeds", "12"],
]


def main() -> None:
    for module, *args in BENCHMARKS:
        print(f"== {module} {' '.join(args)}", flush=True)
        subprocess.run([sys.executable, "-m", module, *args], check=True)


if __name__ == "__main__":
    main()
