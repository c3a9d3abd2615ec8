"""What a load test's target did, read as a calibration reads it: the tiers' utilisation
(``TierMeter``: the server's CPU, the database's busy time), what the database's figure covers,
and the host's other work against what the calibration ran beside. ``calibrate.compare`` puts
these beside the model's prediction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calibrate.probes import BusyReading, Scrape
from loadtests.requests import replay_origin

if TYPE_CHECKING:
    from calibrate.host import HostSampler

Reading = tuple[float, Scrape, dict[str, float]]  # (when, /metrics, busy seconds per tier)


def coverage(host: HostSampler | None, folder: Path, set_up_s: float, duration: float) -> dict[str, str]:
    """The database tier's figure over the replay where its readings did not all cover it
    (a PostgreSQL server whose other databases worked meanwhile): ``calibrate.host.Covered.note``."""
    origin = replay_origin(folder, set_up_s) if host is not None and host.database_tier else None
    if host is None or origin is None or host.database_tier is None:
        return {}
    cover = host.database_cover(origin, origin + duration)
    note = cover.note() if cover is not None else None
    return {host.database_tier: note} if note else {}


BUSIER_CORES = 0.25  # other work beyond the calibration's, in cores, that a comparison names


def against_calibration(calibration: dict[str, Any] | None, host: HostSampler | None, folder: Path,
                        set_up_s: float, summary: dict[str, Any]) -> dict[str, Any]:
    """The host's other work (its CPU less the server's and the load generator's) over the
    replay against what the calibration ran beside (``platform.json`` ``background``), and a
    ``note`` when the test's is more than BUSIER_CORES above it: the api's CPU per request
    grows with the host's other work (docs/calibration-log.md, "The machine's other work"), so
    part of an api or latency error is then the machine's, not the model's. Empty when the
    host was not sampled (a ``--host`` target)."""
    from calibrate.platform_file import generator_cores

    origin = replay_origin(folder, set_up_s) if host is not None else None
    if host is None or origin is None:
        return {}
    mean = host.background(origin, np.array([0.0, float(summary["duration_s"])]))
    if mean is None:
        return {}
    other = max(0.0, float(mean[0]) - (generator_cores(summary) or 0.0))
    calibrated = ((calibration or {}).get("background") or {}).get("other_cores")
    out: dict[str, Any] = {"test_other_cores": round(other, 3), "calibration_other_cores": calibrated,
                           "busier": None}
    if calibrated is None:
        out["note"] = "the calibration did not record its host's other work: the machines cannot be compared"
        return out
    out["busier"] = other > float(calibrated) + BUSIER_CORES
    if out["busier"]:
        out["note"] = (f"the test ran beside {other:.2f} cores of other work, the calibration beside "
                       f"{float(calibrated):.2f}: the api's CPU per request grows with the host's other "
                       "work, so part of the api's and the latencies' error is the machine's, "
                       "not the model's")
    return out


class TierMeter:
    """Tier utilisation over a load test, read as a calibration reads busy time: the server's
    CPU (psutil for a server started here, else ``/metrics``) over its cores, and the
    database's: a PostgreSQL server's CPU (``database_url``, ``calibrate.probes.PostgresCpu``)
    or else the SQLite writer's lock time (group commits), over the database tier's servers
    (one writer for SQLite; the calibrated platform's for PostgreSQL: its host's cores).
    Without ``database_url`` a PostgreSQL target's database reads as its group commits' time,
    which is not what its calibration measured. Failures to read leave a tier out.

    The PostgreSQL server's CPU is the whole server's: an interval between two readings in
    which another of its databases worked is not ours. Over the replay (the host sampler reads
    the database every few seconds) the figure is taken over the intervals that were ours alone,
    if they cover at least ``calibrate.host.MIN_COVERED`` of it, and ``notes`` says what share;
    over the whole test (first to last reading) only when every interval was ours."""

    def __init__(self, url: str, pid: int | None, cores: int | None, api_tier: str = "api",
                 database_tier: str = "database", database_url: str | None = None,
                 database_servers: int = 1) -> None:
        from calibrate.errors import CalibrationError
        from calibrate.probes import MetricsScrape, PostgresCpu, ProcessCpu
        from calibrate.steps import Probes

        self.cores, self.database_servers = cores, database_servers
        postgres = None
        self.database_unread = False  # PostgreSQL whose CPU cannot be read here: no figure
        if database_url:
            try:
                postgres = PostgresCpu(database_url)
            except CalibrationError:
                self.database_unread = True
        self.probes = Probes(MetricsScrape(url), ProcessCpu(pid) if pid else None, postgres, api_tier,
                             database_tier)
        from calibrate.host import HostSampler

        # the host's other work, once a second (a server started here): the prediction's background;
        # the database's busy time every few seconds, so that it too is read over the replay alone
        self.host = (HostSampler(pid, database=self._database_busy, database_tier=database_tier)
                     if pid else None)
        self.first: Reading | None = None
        self.last: Reading | None = None

    def __enter__(self) -> TierMeter:
        self.first = self._read()
        if self.host is not None:
            self.host.__enter__()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.host is not None:
            self.host.__exit__()
        self.last = self._read()
        if self.probes.postgres is not None:
            self.probes.postgres.close()

    def _database_busy(self) -> BusyReading | None:
        """The database's busy time now, a refused (not ours) reading too: its interval is left
        out, and the next one starts from it."""
        return None if self._read() is None else self.probes.database_reading

    def _read(self) -> Reading | None:
        from calibrate.errors import CalibrationError

        try:
            return self.probes.read()
        except CalibrationError:
            return None

    def utilisation(self, seconds: float) -> dict[str, float]:
        """Busy share per tier over ``seconds`` of load (the replay's planned duration)."""
        if self.first is None or self.last is None or seconds <= 0:
            return {}
        (_, _, busy0), (_, _, busy1) = self.first, self.last
        out = {}
        api, db = self.probes.api_tier, self.probes.database_tier
        if api in busy0 and api in busy1 and self.cores:
            out[api] = (busy1[api] - busy0[api]) / (seconds * self.cores)
        if db in busy0 and db in busy1 and not self.database_unread and self._all_ours():
            out[db] = (busy1[db] - busy0[db]) / (seconds * self.database_servers)
        return out

    def _all_ours(self) -> bool:
        """No other database of the PostgreSQL server worked between the first and last reading."""
        postgres = self.probes.postgres
        return postgres is None or all(r.ours for r in postgres.readings[1:])

    def in_app_ms(self) -> dict[str, float]:
        """Mean time per endpoint inside the app over the test (the server's own timing)."""
        if self.first is None or self.last is None:
            return {}
        before, after = self.first[1].in_app, self.last[1].in_app
        out = {}
        for endpoint, (seconds, count) in after.items():
            s0, n0 = before.get(endpoint, (0.0, 0.0))
            if count > n0:
                out[endpoint] = 1000.0 * (seconds - s0) / (count - n0)
        return out

    def writer_ms(self) -> dict[str, float]:
        """The writer thread's figures over the test (``Scrape.writer``; the PostgreSQL reference):
        a job's wait until its batch began, a batch's linger and commit (statements and commit,
        wall time) and the commits' CPU, in ms, jobs a batch, and the loop's delay in running a
        batch's answer; empty without the writer's timers."""
        if self.first is None or self.last is None or not self.last[1].writer:
            return {}
        before, after = self.first[1].writer, self.last[1].writer
        moved = {key: (after[key][0] - before.get(key, (0.0, 0.0))[0],
                       after[key][1] - before.get(key, (0.0, 0.0))[1]) for key in after}
        batches = moved.get("commit", (0.0, 0.0))[1]
        out = {f"{key}_ms": 1000.0 * s / n for key, (s, n) in moved.items()
               if key in ("wait", "linger", "answer", "commit") and n > 0}
        if batches > 0:
            out["jobs_a_batch"] = moved.get("jobs", (0.0, 0.0))[0] / batches
            out["cpu_ms"] = 1000.0 * moved.get("cpu", (0.0, 0.0))[0] / batches
            out["batches"] = batches
        return out

    def unmeasured(self) -> dict[str, str]:
        """Why a tier has no utilisation over the whole test, for the tiers the meter reads."""
        api, db = self.probes.api_tier, self.probes.database_tier
        if self.first is None or self.last is None:
            return dict.fromkeys((api, db), "the target's busy time could not be read before or after")
        out = {}
        postgres = self.probes.postgres
        if self.database_unread:
            out[db] = "its PostgreSQL server's CPU cannot be read here"
        elif postgres is not None and not self._all_ours():
            others = sorted({name for r in postgres.readings[1:] for name in r.others})
            out[db] = f"other databases of its PostgreSQL server worked during the test ({', '.join(others)})"
        elif db not in self.first[2] or db not in self.last[2]:
            out[db] = "no busy time"
        return out

    def notes(self, start: float, end: float) -> dict[str, str]:
        """Per tier, why it has no figure over the replay [start, end] (wall time), or what
        its figure is taken from where that is not the whole replay: the database's, when other
        databases of its PostgreSQL server worked in part of it (``calibrate.host.covered``)."""
        out = {tier: f"not measured: {why}" for tier, why in self.unmeasured().items()}
        db = self.probes.database_tier
        cover = self.host.database_cover(start, end) if self.host and not self.database_unread else None
        if cover is None:
            return out
        out.pop(db, None)
        note = cover.note()
        return out | ({db: note} if note else {})
