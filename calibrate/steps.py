"""The calibration's steps: short open-workload replays with the existing Locust harness.

A step is a ``loadtests.run.LocustRun`` of the scenario's stretch at one scale (the
staircase: the same mix at rising rates) or with some journeys only (``--tags``: steps whose
endpoint mixes differ, so that the fit can tell endpoints apart). While it runs, a sampler
thread reads the busy-time probes every ``bin_s`` seconds; consecutive readings make the
rows of the fit (``calibrate.fit.Row``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibrate.errors import CalibrationError
from calibrate.fit import BATCHES, Row, StepResult
from calibrate.probes import MetricsScrape, PostgresCpu, ProcessCpu, Scrape

MIN_REQUESTS = 50  # per step: fewer cannot separate anything from the idle noise


@dataclass(frozen=True)
class StepSpec:
    name: str
    scale: float
    tags: tuple[str, ...] = ()
    on_mix: bool = True  # the scenario's own mix (all journeys): a knee candidate


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

    def read(self) -> tuple[float, Scrape, dict[str, float]]:
        now = time.monotonic()
        scrape = self.metrics.read()
        busy: dict[str, float] = {}
        cpu = self.api_cpu.seconds() if self.api_cpu is not None else scrape.cpu_s
        if cpu is not None:
            busy[self.api_tier] = cpu
        if self.postgres is not None:
            pg = self.postgres.seconds()
            if pg is not None:
                busy[self.database_tier] = pg
        elif scrape.commit_s is not None:
            busy[self.database_tier] = scrape.commit_s
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
            busy = {tier: b1[tier] - b0[tier] for tier in b1 if tier in b0}
            out.append(Row(step, t1 - t0, requests, busy))
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


def run_step(index: int, spec: StepSpec, options: dict[str, Any], host: str, out: Path, probes: Probes,
             duration_s: float, bin_s: float, say: Callable[[str], None]) -> StepRun:
    """One replay at ``spec.scale`` with ``spec.tags``; raises CalibrationError when the
    harness fails or the step finished too few requests to fit."""
    from loadtests.run import LocustRun

    folder = out / f"step-{index:02d}-{spec.name}"
    step_options = dict(options, scale=spec.scale, max_duration=duration_s)
    locust = LocustRun(host, folder, duration_s, step_options, 0, list(spec.tags), [])
    with Sampler(probes, bin_s) as sampler:
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
    result = StepResult(spec.name, float(t["rps"]), total / max(1e-9, _span(sampler)),
                        t.get("p95_ms"), float(t["error_rate"]), kept_up, spec.on_mix)
    tags = f" tags {','.join(spec.tags)}" if spec.tags else ""
    saturated = summary["generator_cpu"]["saturated"]
    say(f"step {index + 1} {spec.name}: scale {spec.scale:.4g}{tags}: {t['requests']} requests, "
        f"{t['rps']:.1f}/s, p95 {t.get('p95_ms')} ms, errors {100 * t['error_rate']:.2f}%"
        + (", load generator saturated" if saturated else ""))
    return StepRun(spec, sampler.rows(index), result, summary, served)


def _span(sampler: Sampler) -> float:
    """Seconds between the first and last bin that saw requests (the load's own duration)."""
    busy = [(t0, t1) for (t0, s0, _), (t1, s1, _) in zip(sampler.readings, sampler.readings[1:], strict=False)
            if sum(s1.requests.values()) > sum(s0.requests.values()) + 1]
    return busy[-1][1] - busy[0][0] if busy else 0.0
