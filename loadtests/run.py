"""Running Locust headless as a subprocess, bounded in time, and tidying what it writes.

Locust's ``--csv PREFIX`` writes ``PREFIX_stats.csv`` and friends; the results folder
(docs/results.md) names them ``stats.csv``, ``stats_history.csv``, ``failures.csv``,
``exceptions.csv`` and ``report.html``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.timing import DRAIN_S, LEAD_S, RESUMED_SET_UP_S

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PREFIX = "locust"
CSV_FILES = ("stats", "stats_history", "failures", "exceptions")
START_UP_S = 30.0  # Locust's own start-up and worker connection, before the shape starts
KILL_MARGIN_S = 60.0


@dataclass
class LocustRun:
    host: str
    out: Path
    duration_s: float
    options: dict[str, object]  # the harness's own options (--scenario, --stretch, ...)
    processes: int = 0
    tags: list[str] = field(default_factory=list)
    exclude_tags: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    wait_s: float = 0.0  # a master's wait for its workers, on top of the run
    set_up_s: float = RESUMED_SET_UP_S  # --resume-sessions: the set-up window (Plan.set_up_s)

    def as_master(self, workers: int, bind_host: str, bind_port: int, wait_s: float) -> None:
        """Locust's master for workers on other hosts (``run_worker`` there): it waits for
        them, hands each a slice of the arrivals and merges their statistics."""
        self.extra += ["--master", "--expect-workers", str(workers), "--expect-workers-max-wait",
                       f"{wait_s:g}", "--master-bind-host", bind_host, "--master-bind-port", str(bind_port)]
        self.wait_s = wait_s

    def run_time_s(self) -> int:
        """How long the replay should take; the shape ends it (Locust ignores --run-time with
        a shape), the subprocess timeout is the hard bound."""
        set_up = self.set_up_s if self.options.get("resume_sessions") else 0.0
        return int(math.ceil(self.duration_s + LEAD_S + set_up + DRAIN_S + 10))

    def argv(self) -> list[str]:
        args = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
                "--host", self.host, "--stop-timeout", "2",
                "--csv", str(self.out / PREFIX), "--csv-full-history",
                "--html", str(self.out / "report.html"), "--results-dir", str(self.out),
                "--loglevel", "WARNING"]
        if self.processes:
            args += ["--processes", str(self.processes)]
        if self.tags:
            args += ["--tags", *self.tags]
        if self.exclude_tags:
            args += ["--exclude-tags", *self.exclude_tags]
        for name, value in self.options.items():
            if value is not None and value != "":
                args += [f"--{name.replace('_', '-')}", str(value)]
        return args + self.extra

    def execute(self, cwd: Path, on_second: Callable[[int, int], None] | None = None) -> int:
        """Run Locust to its end (or the hard bound: exit 124). ``on_second(done, total)``
        hears the replay's elapsed seconds about once a second (a progress bar)."""
        self.out.mkdir(parents=True, exist_ok=True)
        bound = self.run_time_s() + START_UP_S + KILL_MARGIN_S + self.wait_s
        with open(self.out / "locust.log", "w") as log:
            process = subprocess.Popen(self.argv(), cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
            code = _wait(process, bound, self.run_time_s(), on_second)
        self.tidy()
        return code

    def tidy(self) -> None:
        for name in CSV_FILES:
            source = self.out / f"{PREFIX}_{name}.csv"
            if source.exists():
                source.replace(self.out / f"{name}.csv")

    def log_tail(self, lines: int = 5) -> list[str]:
        path = self.out / "locust.log"
        return path.read_text(errors="replace").strip().splitlines()[-lines:] if path.exists() else []


def _wait(process: subprocess.Popen[bytes], bound_s: float, planned_s: int,
          on_second: Callable[[int, int], None] | None) -> int:
    """The process's exit code, or 124 after killing it at ``bound_s``."""
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed >= bound_s:
                process.kill()
                process.wait()
                return 124
            if on_second is not None:
                on_second(min(int(elapsed), planned_s), planned_s)


def run_worker(master_host: str, master_port: int, cwd: Path) -> int:
    """A Locust worker of a master on ``master_host``: the options (scenario, model results,
    accounts, ...) come from the master, and name files that must be at the same paths here.
    The worker stops when the master does; its exit code is Locust's."""
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", "WARNING"]
    print(f"worker of {master_host}:{master_port}", flush=True)
    return subprocess.run(argv, cwd=cwd).returncode
