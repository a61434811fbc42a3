"""Shared helpers: timing with peak memory of the measuring process (or of a child process), machine facts, and
the results file the benchmarks append their sections to."""

from __future__ import annotations

import os
import platform
import resource
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"


@dataclass
class Measure:
    seconds: float = 0.0
    peak_rss_mib: float = 0.0


@contextmanager
def measured():
    """Wall time of the block; peak RSS of this process so far (ru_maxrss is a high-water mark)."""
    m = Measure()
    start = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - start
        m.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {platform.system()} {platform.machine()}, " \
           f"Python {platform.python_version()}"


def reference_loop_seconds() -> float:
    """Seconds for a fixed pure-Python loop (10 million additions): the host's speed at the time of measuring.
    These shared machines vary by up to ~1.6x from minute to minute, so figures are read against it."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def write_section(title: str, lines: list[str]) -> None:
    """Replace (or add) a `## title` section of results.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    sections = text.split("\n## ")
    head, rest = sections[0], [s for s in sections[1:] if not s.startswith(title + "\n")]
    body = f"{title}\n\nMachine: {machine()}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
    body += "\n".join(lines).rstrip() + "\n"
    RESULTS.write_text("\n## ".join([head.rstrip() + "\n", *[r.rstrip() + "\n" for r in rest], body]))
