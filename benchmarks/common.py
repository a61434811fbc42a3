"""Shared helpers: timing with peak memory of the measuring process or of one child process, the benchmark data and
the cold `als-eca run` (the whole-graph and the peer benchmark time the same runs), machine facts, and the results
file the benchmarks append their sections to."""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"
REPO = Path(__file__).resolve().parent.parent
#: The seed of every benchmark data set (the demo sample's).
DATA_SEED = 20230401


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


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mib: float  # the process tree's: see run_child
    returncode: int
    stdout: str
    stderr: str


def _tree_rss_bytes(root: int) -> int:
    """The resident memory of `root` and all its descendants now (Linux /proc), summed."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        with suppress(OSError):  # the process ended meanwhile
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


def run_child(command: list[str], env: dict | None = None, cwd: Path | None = None) -> ChildRun:
    """Run a command to its end: wall seconds and the peak RSS of its process tree. A run is more than one process
    (the GX worker beside `als-eca run`, Dagster's log watchers), so the peak is the larger of the tree's summed RSS,
    sampled every 100 ms (~2 ms of this process a sample), and the child's own `wait4` high-water mark (that of the
    largest single process, which catches a peak between two samples). RUSAGE_CHILDREN would be the high-water mark
    over every child so far - two programs measured in one benchmark process would share it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        tree_peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal tree_peak
            while not done.wait(0.1):
                tree_peak = max(tree_peak, _tree_rss_bytes(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
        out.seek(0)
        err.seek(0)
        return ChildRun(seconds, max(usage.ru_maxrss * 1024, tree_peak) / 2**20, proc.returncode, out.read(),
                        err.read())


class RunFailed(RuntimeError):
    """`als-eca run` ended with an error or was killed; `run` is the measured run (its wall time and peak RSS up
    to the end) and the message says how it ended and after which step."""

    def __init__(self, run: ChildRun):
        self.run = run
        steps = re.findall(r"^\s+(\S+): done \(", run.stderr, flags=re.M)
        how = (f"killed by {signal.Signals(-run.returncode).name}" if run.returncode < 0
               else f"exit code {run.returncode}")
        if run.returncode == -signal.SIGKILL:
            how += " (the kernel's OOM killer, when the peak RSS is near the machine's memory)"
        super().__init__(f"als-eca run {how} after {run.seconds:.0f} s at a peak RSS of "
                         f"{run.peak_rss_mib / 1024:.1f} GiB; last finished step: {steps[-1] if steps else 'none'}")


def ensure_data(scale: float, root: Path) -> Path:
    """`root/scale_<k>` with `proact/` and `pms/`, generated once (the seed of the demo sample) and reused."""
    out = root / f"scale_{scale:g}"
    if not (out / "proact").is_dir():
        import synthetic

        print(f"generating scale {scale:g} into {out} ...", flush=True)
        synthetic.generate(out, seed=DATA_SEED, scale=scale, progress=True)
    return out


def dagster_home(folder: Path) -> Path:
    """A Dagster home of the benchmark's own: the repository's dagster.yaml (the instance `make demo`, the schedule
    and the sensor's runs use, whose run history the UI shows), its storage under `folder` instead of the
    repository's .dagster_home/."""
    home = folder.resolve() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = (REPO / "dagster.yaml").read_text()
    if "base_dir: .dagster_home" not in config:  # else the runs would write the repository's own history
        raise ValueError(f"{REPO / 'dagster.yaml'} names no base_dir under .dagster_home to move")
    (home / "dagster.yaml").write_text(config.replace("base_dir: .dagster_home", f"base_dir: {home}/.dagster_home"))
    return home


def als_eca_run(data: Path, warehouse: Path, force: bool) -> tuple[ChildRun, str]:
    """`als-eca run` on `data` into `warehouse` in a process of its own, on a persistent Dagster instance as
    `make demo` runs it (its run history stored, next to the warehouse): the measured run and its last status
    line (`run ...` or `up to date ...`)."""
    env = {**os.environ, "ALS_ECA_PSEUDONYM_KEY": os.environ.get("ALS_ECA_PSEUDONYM_KEY", "benchmark-key"),
           "ALS_ECA_SNAPSHOT_DIR": str(warehouse.parent / "snapshot"),
           "DAGSTER_HOME": str(dagster_home(warehouse.parent))}
    command = [sys.executable, "-m", "cli.main", "run", "--proact", str(data / "proact"),
               "--pms", str(data / "pms"), "--warehouse", str(warehouse)] + (["--force"] if force else [])
    done = run_child(command, env=env, cwd=REPO)
    if done.returncode != 0:
        print(f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}", flush=True)  # the run's own account, for the log
        raise RunFailed(done)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("run ", "up to date"))]
    return done, (lines[-1] if lines else "")


def fresh_warehouse(warehouse: Path) -> None:
    """Remove a warehouse, its run stamp and its analyst snapshot: the next run builds everything from nothing."""
    for path in warehouse.parent.glob(f"*{warehouse.name}*"):
        path.unlink()
    shutil.rmtree(warehouse.parent / "snapshot", ignore_errors=True)


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
