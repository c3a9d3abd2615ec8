"""The calibration's steps: short open-workload replays with the existing Locust harness.

A step is a ``loadtests.run.LocustRun`` of the scenario's stretch at one scale (the
staircase: the same mix at rising rates) or with some journeys only (``--tags``: steps whose
endpoint mixes differ, so that the fit can tell endpoints apart). While it runs, a sampler
thread reads the busy-time probes every ``bin_s`` seconds; consecutive readings make the
rows of the fit (``calibrate.fit.Row``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibrate import spread, writer
from calibrate.errors import CalibrationError
from calibrate.fit import BATCHES, JOBS, Row
from calibrate.host import HostSampler
from calibrate.knee import StepResult, Window
from calibrate.probes import BusyReading, MetricsScrape, PostgresCpu, ProcessCpu, Scrape

MIN_REQUESTS = 50  # per step: fewer cannot separate anything from the idle noise
# Locust's rolling percentile window (locust.stats.CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW): the
# p95 its stats_history.csv gives at second t is that of the requests finished in (t - 10, t]
WINDOW_S = 10


@dataclass(frozen=True)
class StepSpec:
    name: str
    scale: float
    tags: tuple[str, ...] = ()
    on_mix: bool = True  # the scenario's own mix (all journeys): a knee candidate
    # a hold (calibration._confirm): its own length and stretch (the configured one with the
    # minutes before it, so that its sessions build up there), and the second from which its
    # windows are its steady part (``StepResult.settle_s``)
    seconds: float | None = None
    stretch: str | None = None
    settle_s: float | None = None
    # a hold's replay (``calibrate.holds``): its own compression, the sessions in progress at its
    # first minute resumed before its origin (in a set-up window of ``set_up_s``), and the
    # minutes its judged windows replay (a ``--stretch``); None / False: the run's
    compress: float | None = None
    resume: bool = False
    judged: str | None = None
    set_up_s: float = 0.0


@dataclass
class Probes:
    """Where each tier's busy time comes from; ``api_cpu`` is psutil (a started server) or
    None (then ``/metrics`` process_cpu_seconds_total)."""

    metrics: MetricsScrape
    api_cpu: ProcessCpu | None = None
    postgres: PostgresCpu | None = None
    api_tier: str = "api"
    database_tier: str = "database"
    sources: dict[str, str] = field(default_factory=dict)
    # the database tier's busy time at the last read, with whether it was ours alone since the
    # one before (None: not read): the load test's meter keeps what a refused reading lacks
    database_reading: BusyReading | None = None

    def read(self) -> tuple[float, Scrape, dict[str, float]]:
        now = time.monotonic()
        self.database_reading = None
        scrape = self.metrics.read()
        busy: dict[str, float] = {}
        cpu = self.api_cpu.seconds() if self.api_cpu is not None else scrape.cpu_s
        if cpu is not None:
            busy[self.api_tier] = cpu
        if self.postgres is not None:
            self.database_reading = self.postgres.read()
            if self.database_reading is not None and self.database_reading.ours:
                busy[self.database_tier] = self.database_reading.busy_s
        elif scrape.commit_s is not None:
            busy[self.database_tier] = scrape.commit_s
            self.database_reading = BusyReading(time.time(), scrape.commit_s)
        return now, scrape, busy


class Sampler:
    """Reads the probes every ``bin_s`` seconds in a thread; ``rows(step)`` are the diffs."""

    def __init__(self, probes: Probes, bin_s: float) -> None:
        self.probes, self.bin_s = probes, bin_s
        self.readings: list[tuple[float, Scrape, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.error: Exception | None = None
        self.missed = 0

    def __enter__(self) -> Sampler:
        self.readings.append(self.probes.read())
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.bin_s):
            try:
                self.readings.append(self.probes.read())
            except CalibrationError as exc:
                # an overloaded target may not answer /metrics in time: the next reading's bin
                # is then longer, which the utilisation law does not mind; only a step that
                # got no reading at all fails (``error``)
                self.missed += 1
                self.error = exc

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for _ in range(3):  # the closing reading matters most: the step's totals end there
            try:
                self.readings.append(self.probes.read())
                return
            except CalibrationError as exc:
                self.error = exc
                time.sleep(2.0)
        raise CalibrationError(f"the target's busy time could not be read after the step: {self.error}")

    def rows(self, step: int) -> list[Row]:
        out = []
        for (t0, s0, b0), (t1, s1, b1) in zip(self.readings, self.readings[1:], strict=False):
            requests = {e: s1.requests.get(e, 0.0) - s0.requests.get(e, 0.0) for e in s1.requests}
            if s0.commits is not None and s1.commits is not None:
                requests[BATCHES] = s1.commits - s0.commits  # the group commit's own regressor
            if s0.jobs is not None and s1.jobs is not None:
                requests[JOBS] = s1.jobs - s0.jobs  # which endpoints the writer's jobs are
            requests |= writer.row_counts(s0.by_size, s1.by_size)  # the commits by size (calibrate.writer)
            requests |= writer.hold_counts(s0.route_holds, s1.route_holds)  # the routes' own transactions
            requests |= writer.retry_counts(s0.commit_retry, s1.commit_retry)  # a blocked loop's retries
            requests |= spread.bucket_counts(s0.buckets, s1.buckets)  # the lock's holds by length
            busy = {tier: b1[tier] - b0[tier] for tier in b1 if tier in b0}
            # a worker restarted in the bin starts its counter again: the bin's figure is then
            # not known (a negative difference), and the row keeps no route CPU
            cpu = {e: s1.route_cpu[e] - s0.route_cpu.get(e, 0.0) for e in s1.route_cpu}
            cpu = cpu if all(v >= 0 for v in cpu.values()) else {}
            out.append(Row(step, t1 - t0, requests, busy, cpu))
        return out

    def requests(self) -> dict[str, float]:
        first, last = self.readings[0][1], self.readings[-1][1]
        return {e: last.requests.get(e, 0.0) - first.requests.get(e, 0.0) for e in last.requests}


@dataclass(frozen=True)
class StepRun:
    spec: StepSpec
    rows: list[Row]
    result: StepResult
    summary: dict[str, Any]  # the load test's summary.json
    server_requests: dict[str, float]
    wall_s: float = 0.0  # the step's wall-clock time, Locust's start-up included
    # cores the host spent on anything but the server during the step (the load generator and
    # whatever else ran: calibrate.host), and the host's cores; None: a target not started here
    background_cores: float | None = None
    host_cores: int | None = None


def run_step(index: int, spec: StepSpec, options: dict[str, Any], host: str, out: Path, probes: Probes,
             duration_s: float, bin_s: float, say: Callable[[str], None]) -> StepRun:
    """One replay at ``spec.scale`` with ``spec.tags``; raises CalibrationError when the
    harness fails or the step finished too few requests to fit."""
    from loadtests.run import LocustRun

    started = time.monotonic()
    folder = out / f"step-{index:02d}-{spec.name}"
    duration_s = spec.seconds or duration_s
    step_options = dict(options, scale=spec.scale, max_duration=duration_s)
    if spec.stretch:
        step_options["stretch"] = spec.stretch
    if spec.compress:
        step_options["compress"] = spec.compress
    if spec.resume:
        step_options["resume_sessions"] = 1
    locust = LocustRun(host, folder, duration_s, step_options, 0, list(spec.tags), [])
    locust.set_up_s = max(locust.set_up_s, spec.set_up_s)  # the run's bound (resumed sessions' set-up)
    # the host's other work beside a server started here: the api's CPU per request grows with
    # it (docs/calibration.md), so the platform file says what the demands were measured beside
    machine = HostSampler(probes.api_cpu.pid) if probes.api_cpu is not None else None
    with Sampler(probes, bin_s) as sampler, machine or contextlib.nullcontext():
        code = locust.execute(Path.cwd())
    if len(sampler.readings) < 3:
        raise CalibrationError(f"step {spec.name}: reading the target's busy time failed: {sampler.error}")
    summary_path = folder / "summary.json"
    if code not in (0, 1) or not summary_path.is_file():
        tail = " / ".join(locust.log_tail(2)) or "no output"
        raise CalibrationError(f"step {spec.name}: locust failed (exit {code}): {tail}")
    summary = json.loads(summary_path.read_text())
    served = sampler.requests()
    total = sum(v for e, v in served.items() if e not in ("metrics", "healthz", "unmatched"))
    if total < MIN_REQUESTS:
        raise CalibrationError(f"step {spec.name}: {total:.0f} requests finished, fewer than {MIN_REQUESTS} "
                               "needed to fit (raise --scale or --step-seconds)")
    t = summary["total"]
    # the knee needs a generator that kept up; tags leave some arrivals without a task, which
    # the load test's own verdict counts against it, so only saturation disqualifies a step here
    kept_up = not summary["generator_cpu"]["saturated"] and summary["arrivals"]["dropped"] == 0
    windows, ramp_s = history_windows(folder / "stats_history.csv")
    result = StepResult(spec.name, float(t["rps"]), total / max(1e-9, _span(sampler)),
                        t.get("p95_ms"), float(t["error_rate"]), kept_up, spec.on_mix, windows,
                        spec.settle_s, ramp_s)
    tags = f" tags {','.join(spec.tags)}" if spec.tags else ""
    saturated = summary["generator_cpu"]["saturated"]
    say(f"step {index + 1} {spec.name}: scale {spec.scale:.4g}{tags}: {t['requests']} requests, "
        f"{t['rps']:.1f}/s, p95 {t.get('p95_ms')} ms, errors {100 * t['error_rate']:.2f}%"
        + (", load generator saturated" if saturated else ""))
    return StepRun(spec, sampler.rows(index), result, summary, served, time.monotonic() - started,
                   machine.other_cores() if machine else None, machine.cores if machine else None)


def history_windows(path: Path, window_s: int = WINDOW_S) -> tuple[tuple[Window, ...], float | None]:
    """Disjoint ``window_s`` windows back from the last second in which the client finished a
    request, to its first, from Locust's per-second history (its "Aggregated" rows: cumulative
    requests and failures, the rolling percentiles); and the ramp, the seconds from the first finished
    request until a second finished 90% of the last 5 s' mean (sessions build up from none: at
    compress 144 about 12 s on 2026-11-30). No history (an old step): no windows."""
    if not path.is_file():
        return (), None
    seconds = aggregated_seconds(path)
    active = [i for i in range(1, len(seconds)) if seconds[i][1] > seconds[i - 1][1]]
    if not active:
        return (), None
    first, last = active[0], active[-1]
    origin = seconds[first - 1][0]  # the second before the first finished request
    at = {t: (n, f, q) for t, n, f, q in seconds}

    def reading(t: int) -> tuple[int, int, tuple[tuple[float, float], ...]]:  # the last row at or before t
        known = [u for u in at if u <= t]
        return at[max(known)] if known else (0, 0, ())

    windows = []
    end = seconds[last][0]
    while end - window_s >= origin:
        (n1, f1, quantiles), (n0, f0, _) = reading(end), reading(end - window_s)
        p95 = next((ms for fraction, ms in quantiles if abs(fraction - 0.95) < 1e-9), None)
        windows.append(Window(float(end - origin), float(window_s), n1 - n0, f1 - f0, p95, quantiles))
        end -= window_s
    return tuple(reversed(windows)), _ramp_s(seconds[first - 1:last + 1])


# one row of the history: timestamp, cumulative requests and failures, (fraction, ms) percentiles
_Second = tuple[int, int, int, tuple[tuple[float, float], ...]]


def aggregated_seconds(path: Path) -> list[_Second]:
    """Locust's per-second "Aggregated" rows of ``stats_history.csv`` (``_Second``)."""
    seconds: list[_Second] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            quantiles = tuple((float(k[:-1]) / 100.0, float(v)) for k, v in row.items()
                              if k and k.endswith("%") and v not in (None, "", "N/A"))
            seconds.append((int(row["Timestamp"]), int(row["Total Request Count"]),
                            int(row["Total Failure Count"]), quantiles))
    return seconds


def _ramp_s(seconds: list[_Second]) -> float | None:
    per_s = [b[1] - a[1] for a, b in zip(seconds, seconds[1:], strict=False)]
    if len(per_s) < 6:
        return None
    late = sum(per_s[-5:]) / 5
    reached = next(i for i, n in enumerate(per_s) if n >= 0.9 * late or i >= len(per_s) - 5)
    return float(reached + 1)


def _span(sampler: Sampler) -> float:
    """Seconds between the first and last bin that saw requests (the load's own duration)."""
    busy = [(t0, t1) for (t0, s0, _), (t1, s1, _) in zip(sampler.readings, sampler.readings[1:], strict=False)
            if sum(s1.requests.values()) > sum(s0.requests.values()) + 1]
    return busy[-1][1] - busy[0][0] if busy else 0.0
