"""The CPU the target's host spent on other work during a load test, per 10-s bin.

Measured on the reference platform (SQLite, 2 workers, 2 cores, issue 12): the server's
workers are not alone on their cores. The load generator runs there (0.15 of a core at 100
requests/s) and so does whatever else the machine does (other engineers' tests: 0.3-1.4 cores
a bin in the 13:21 test); with 1.46 of the 2 cores busy on average, a worker that has work
waits for a core, and the model's "2 servers of 1 core each" predicted the heartbeat's mean
at 5.9 ms against 24.3 ms measured. This sampler reads, once a second, the host's busy CPU
seconds (every core's time neither idle nor waiting for I/O) and the server's process tree's
own; their difference per bin is the **background**: cores the workers had to share, which
the prediction at the achieved load serves beside them (``sim.tiers.replay.HostShare``).
Only for a server started on this machine (its pid known); a ``--host`` target's host is not
read here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from calibrate.probes import BusyReading, ProcessCpu

SAMPLE_S = 1.0
DATABASE_EVERY = 5  # samples between two readings of the database's busy time
# a database figure needs readings that were ours over at least this share of its window: the
# rest is left out, and a mean over less than half of a replay whose load varies is not its mean
MIN_COVERED = 0.5


@dataclass(frozen=True)
class Covered:
    """A tier's busy seconds a second over the intervals of a window whose readings were ours
    (``per_s``, None when none were), the share of the window they cover, and who else worked
    in the rest."""

    per_s: float | None
    share: float
    others: tuple[str, ...] = ()

    def note(self) -> str | None:
        """What a figure from these readings is, where it is not the whole window: "not
        measured" under MIN_COVERED, "measured over N% ... only" when others worked in part."""
        who = f"other databases of its PostgreSQL server worked in the rest ({', '.join(self.others)})"
        if self.share < MIN_COVERED:
            return (f"not measured: its readings were ours over {100 * self.share:.0f}% of the replay "
                    f"(< {100 * MIN_COVERED:.0f}%)" + (f"; {who}" if self.others else ""))
        if self.others:
            return (f"measured over {100 * self.share:.0f}% of the replay only (the intervals between "
                    f"readings in which no other database worked); {who}")
        return None


def covered(rows: Sequence[BusyReading], start: float, end: float) -> Covered:
    """Busy time a second over the parts of [start, end] between two readings the later of
    which was ours (a reading's ``ours`` speaks for the interval since the one before); an
    interval cut by the window counts in proportion (the busy time taken as even within it).
    The window outside the readings is not covered."""
    ours_s = busy = 0.0
    others: set[str] = set()
    for a, b in zip(rows, rows[1:], strict=False):
        overlap = min(b.when, end) - max(a.when, start)
        if overlap <= 0 or b.when <= a.when:
            continue
        if b.ours:
            ours_s += overlap
            busy += (b.busy_s - a.busy_s) * overlap / (b.when - a.when)
        else:
            others.update(b.others)
    share = ours_s / (end - start) if end > start else 0.0
    return Covered(busy / ours_s if ours_s > 0 else None, share, tuple(sorted(others)))


def host_busy_s() -> float:
    """CPU seconds all cores spent busy since boot: not idle, not waiting for I/O."""
    import psutil

    times = psutil.cpu_times()._asdict()
    # the busy fields summed, not the total less idle: a subtraction's rounding let two readings
    # a moment apart go backwards by 1e-12 (5914.140000000001 then 5914.139999999999)
    return float(sum(v for k, v in times.items() if k not in ("idle", "iowait")))


def host_cores(pid: int) -> int:
    """The cores the server (its root process) may run on."""
    import psutil

    try:
        return len(psutil.Process(pid).cpu_affinity() or []) or (psutil.cpu_count() or 1)
    except (psutil.Error, AttributeError):
        return psutil.cpu_count() or 1


class HostSampler:
    """(wall time, host busy s, server tree CPU s) once a second on a thread, while entered;
    with ``database`` (the database tier's busy seconds so far, e.g. the group commits' lock
    time from ``/metrics``), that too every ``DATABASE_EVERY`` samples (a scrape costs the
    server 20-60 ms of CPU: every 5 s is about 1% of a core)."""

    def __init__(self, pid: int, sample_s: float = SAMPLE_S,
                 database: Callable[[], BusyReading | None] | None = None,
                 database_tier: str | None = None) -> None:
        self.server = ProcessCpu(pid)
        self.cores = host_cores(pid)
        self.sample_s = sample_s
        self.rows: list[tuple[float, float, float]] = []
        self._database = database
        self.database_tier = database_tier if database is not None else None  # the tier it reads
        self.database_rows: list[BusyReading] = []  # refused ones too: their interval is left out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="host-sampler", daemon=True)

    def __enter__(self) -> HostSampler:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._read()

    def _read(self, database: bool = True) -> None:
        self.rows.append((time.time(), host_busy_s(), self.server.seconds()))
        if self._database is not None and database:
            reading = self._database()
            if reading is not None:
                self.database_rows.append(reading)

    def _run(self) -> None:
        while not self._stop.wait(self.sample_s):
            self._read(len(self.rows) % DATABASE_EVERY == 0)

    def database_busy(self, start: float, end: float) -> float | None:
        """The database tier's busy seconds a second between two wall times, over the intervals
        whose readings were ours (``covered``); None if the readings do not reach the window
        (within one reading interval) or those intervals cover less than MIN_COVERED of it."""
        cover = self.database_cover(start, end)
        return cover.per_s if cover is not None and cover.share >= MIN_COVERED else None

    def database_cover(self, start: float, end: float) -> Covered | None:
        """What the database's readings say about [start, end]; None if they do not reach it."""
        rows = self.database_rows
        slack = DATABASE_EVERY * self.sample_s
        if len(rows) < 2 or end <= start or start < rows[0].when - slack or end > rows[-1].when + slack:
            return None
        return covered(rows, start, end)

    def server_cores(self, start: float, end: float) -> float | None:
        """The server's mean CPU (cores) between two wall times, None if not covered: its busy
        time over the replay alone (the meter's first and last readings also hold the resumed
        sessions' set-up and the drain, which the prediction does not have)."""
        if len(self.rows) < 2 or end <= start:
            return None
        wall, _, server = (np.array(column) for column in zip(*self.rows, strict=True))
        if start < wall[0] - self.sample_s or end > wall[-1] + self.sample_s:
            return None
        low, high = np.interp([start, end], wall, server)
        return float((high - low) / (end - start))

    def other_cores(self) -> float | None:
        """Cores busy with anything but the server, on average over all the samples (a
        calibration step's background: what it ran beside), None with fewer than two."""
        if len(self.rows) < 2 or self.rows[-1][0] <= self.rows[0][0]:
            return None
        (t0, host0, server0), (t1, host1, server1) = self.rows[0], self.rows[-1]
        return float(np.clip(((host1 - server1) - (host0 - server0)) / (t1 - t0), 0.0, self.cores))

    def background(self, origin: float, edges: np.ndarray) -> np.ndarray | None:
        """Cores busy with anything but the server in each bin [edges[i], edges[i+1]) of test
        time (wall time ``origin`` + edge), interpolated between the samples; None when the
        samples do not cover the bins."""
        if len(self.rows) < 2:
            return None
        wall, host, server = (np.array(column) for column in zip(*self.rows, strict=True))
        when = origin + np.asarray(edges, float)
        if when[0] < wall[0] - self.sample_s or when[-1] > wall[-1] + self.sample_s:
            return None
        other = np.interp(when, wall, host - server)
        busy: np.ndarray = np.clip(np.diff(other) / np.diff(when), 0.0, self.cores)
        return busy
