"""Prediction against measurement for one load test of a stretch.

The prediction is the model's for that exact load: the model's requests per endpoint for the
stretch's minutes (``timeseries.csv``, ``rps.<endpoint>``), compressed and scaled as the replay
is (a model minute lasts ``60 / compress`` s and carries ``scale`` of its requests, so rates
are ``rps × scale × compress``), served request by request on the calibrated platform
(``sim.tiers.replay``), from an empty system as the test starts. The measurement is the load
test's own per-endpoint figures, and the target's tier utilisation where it was measured.

A comparison is made only when it means something: a load generator that saturated measures
itself, and a target other than the calibrated one is another system. Then the comparison
says why and carries no error figures (nor gate metrics).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from calibrate.errors import CalibrationError

FIGURES = ("rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "error_rate")
MIN_REQUESTS = 1000  # the "per endpoint with >= 1,000 requests" for latency errors


@dataclass
class Comparison:
    comparable: bool
    reason: str  # why not comparable ("" when it is)
    calibrated_target: str
    tested_target: str
    endpoints: dict[str, dict[str, dict]] = field(default_factory=dict)  # endpoint -> figure -> row
    tiers: dict[str, dict] = field(default_factory=dict)  # tier -> {predicted, measured, error_pp}
    planned_vs_achieved: dict[str, dict] = field(default_factory=dict)  # endpoint -> requests

    def metrics(self) -> dict[str, float]:
        """Gate metrics: ``prediction_error(<fn>(<metric>))`` = |predicted / measured - 1|."""
        if not self.comparable:
            return {}
        out = {}
        names = {"rps": "mean(rps.{})", "p50_ms": "p50(latency.{})", "p95_ms": "p95(latency.{})",
                 "p99_ms": "p99(latency.{})", "mean_ms": "mean(latency.{})"}
        for endpoint, rows in self.endpoints.items():
            for figure, row in rows.items():
                if figure in names and row.get("relative_error") is not None:
                    out[f"prediction_error({names[figure].format(endpoint)})"] = abs(row["relative_error"])
        for tier, row in self.tiers.items():
            if row.get("error_pp") is not None:
                out[f"prediction_error(max(utilisation.{tier}))"] = abs(row["error_pp"]) / 100.0
        return out

    def as_dict(self) -> dict:
        return asdict(self) | {"metrics": self.metrics()}


def model_rates(timeseries: Path, first_minute: str, minutes: int, endpoints: list[str], scale: float,
                compress: float) -> np.ndarray:
    """(endpoints × minutes) requests/s at test scale for the replayed minutes."""
    with timeseries.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#"))]
    first = dt.datetime.fromisoformat(first_minute)
    start = next((i for i, r in enumerate(rows) if dt.datetime.fromisoformat(r["minute"]) == first),
                 None)
    if start is None:
        raise CalibrationError(f"{timeseries}: no minute {first_minute} "
                               "(not the model run the test replayed)")
    cut = rows[start:start + minutes]
    return np.array([[float(r.get(f"rps.{e}") or 0.0) for r in cut] for e in endpoints]) * scale * compress


def measured_means(folder: Path) -> dict[str, float]:
    """Mean latency per endpoint from Locust's ``stats.csv`` (summary.json has percentiles only)."""
    path = folder / "stats.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["Name"]: float(r["Average Response Time"]) for r in csv.DictReader(handle)
                if r.get("Average Response Time")}


def _row(predicted: float, measured: float | None, requests: int, figure: str) -> dict:
    row = {"predicted": predicted, "measured": measured, "relative_error": None}
    latency = figure.endswith("_ms")
    if measured is None or (latency and requests < MIN_REQUESTS):
        row["why_no_error"] = (f"{requests} requests (< {MIN_REQUESTS})" if measured is not None
                               else "not measured")
        return row
    if measured > 0:
        row["relative_error"] = predicted / measured - 1.0
    return row


def compare(summary: dict, folder: Path, scenario, timeseries: Path, calibration: dict | None,
            tested_target: str, utilisation: dict[str, float], seed: int = 0) -> Comparison:
    """The comparison for the load test whose ``summary.json`` is ``summary`` (written in ``folder``)."""
    from sim.tiers.replay import predict

    calibrated = (calibration or {}).get("target", "unknown (no calibration file)")
    reasons = []
    if summary["generator_cpu"].get("saturated"):
        reasons.append("the load generator saturated: its latencies measure itself")
    if summary["arrivals"].get("dropped"):
        reasons.append(f"{summary['arrivals']['dropped']} arrivals dropped by the generator")
    if calibration is not None and calibrated != tested_target:
        reasons.append(f"the platform was calibrated against {calibrated}, "
                       f"the test ran against {tested_target}")
    result = Comparison(not reasons, "; ".join(reasons), calibrated, tested_target)
    endpoints = [e.name for e in scenario.platform.endpoints]
    minute_s = 60.0 / float(summary["compress"])
    minutes = max(1, int(round(float(summary["duration_s"]) / minute_s)))
    rates = model_rates(timeseries, summary["stretch_first_minute"], minutes, endpoints,
                        float(summary["scale"]), float(summary["compress"]))
    timeout = float(scenario.behaviour.overload.abandon_after_s)
    prediction = predict(scenario, rates, minute_s, np.random.default_rng(seed), timeout)
    means = measured_means(folder)
    for name in endpoints:
        measured = summary["endpoints"].get(name)
        predicted = prediction.endpoints.get(name)
        planned = float(rates[endpoints.index(name)].sum() * minute_s)
        achieved = int(measured["requests"]) if measured else 0
        result.planned_vs_achieved[name] = {"planned": round(planned, 1), "achieved": achieved,
                                            "ratio": achieved / planned if planned > 0 else None}
        if predicted is None or measured is None or not result.comparable:
            if predicted is not None:
                result.endpoints[name] = {f: {"predicted": getattr(predicted, f), "measured": None}
                                          for f in FIGURES}
            continue
        n = int(measured["requests"])
        observed = {"rps": measured["rps"], "mean_ms": means.get(name), "p50_ms": measured["p50_ms"],
                    "p95_ms": measured["p95_ms"], "p99_ms": measured["p99_ms"],
                    "error_rate": measured["error_rate"]}
        result.endpoints[name] = {f: _row(getattr(predicted, f), observed[f], n, f) for f in FIGURES}
    for tier, predicted_u in prediction.utilisation.items():
        got = utilisation.get(tier)
        error = None if got is None or not result.comparable else 100.0 * (predicted_u - got)
        result.tiers[tier] = {"predicted": predicted_u, "measured": got, "error_pp": error}
    return result


def load_calibration(platform_file: Path) -> dict | None:
    side = platform_file.with_suffix(".json")
    return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else None


class TierMeter:
    """Tier utilisation over a load test, read as a calibration reads busy time: the server's
    CPU (psutil for a server started here, else ``/metrics``) over its cores, and the SQLite
    writer's lock time (group commits) over one writer. Failures to read leave a tier out."""

    def __init__(self, url: str, pid: int | None, cores: int | None, api_tier: str = "api",
                 database_tier: str = "database") -> None:
        from calibrate.probes import MetricsScrape, ProcessCpu
        from calibrate.steps import Probes

        self.cores = cores
        self.probes = Probes(MetricsScrape(url), ProcessCpu(pid) if pid else None, None, api_tier,
                             database_tier)
        self.first: tuple | None = None
        self.last: tuple | None = None

    def __enter__(self) -> TierMeter:
        self.first = self._read()
        return self

    def __exit__(self, *_exc) -> None:
        self.last = self._read()

    def _read(self) -> tuple | None:
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
        if db in busy0 and db in busy1:
            out[db] = busy1[db] - busy0[db]
            out[db] /= seconds
        return out
