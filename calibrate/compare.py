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
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calibrate.errors import CalibrationError
from calibrate.meter import against_calibration, coverage
from domain.scenario import PoolTier, Scenario
from loadtests.noise import BIN_S
from loadtests.plan import PlanError
from loadtests.requests import MIN_PER_BIN, achieved_per_bin, model_rates, planned_per_bin, replay_origin
from records.loadtest import LoadtestSummary
from records.prediction import (
    FIGURES,
    AtLoad,
    Background,
    BinRow,
    EndpointRows,
    FigureRow,
    HostRow,
    InAppRow,
    Prediction,
    RequestsRow,
    TierRow,
    WallRow,
)
from sim.tiers.replay import HostShare
from sim.tiers.replay import Prediction as ReplayPrediction

if TYPE_CHECKING:
    from calibrate.host import HostSampler

MIN_REQUESTS = 1000  # the "per endpoint with >= 1,000 requests" for latency errors


def gate_metrics(comparable: bool, compared: AtLoad) -> dict[str, float]:
    """Gate metrics: ``prediction_error(<fn>(<metric>))`` = |predicted / measured - 1|, of the
    prediction at the achieved load when there is one (``Prediction.compared``: the platform
    model's own error; the replay's shortfall is ``planned_vs_achieved``), else at the planned
    load. None when not comparable."""
    if not comparable:
        return {}
    out = {}
    names = {"rps": "mean(rps.{})", "p50_ms": "p50(latency.{})", "p95_ms": "p95(latency.{})",
             "p99_ms": "p99(latency.{})", "mean_ms": "mean(latency.{})"}
    for endpoint, rows in compared.endpoints.items():
        for figure, row in rows.items():
            if figure in names and row.relative_error is not None:
                out[f"prediction_error({names[figure].format(endpoint)})"] = abs(float(row.relative_error))
    for tier, tier_row in compared.tiers.items():
        if tier_row.error_pp is not None:
            out[f"prediction_error(max(utilisation.{tier}))"] = abs(float(tier_row.error_pp)) / 100.0
    return out


def measured_means(folder: Path) -> dict[str, float]:
    """Mean latency per endpoint from Locust's ``stats.csv`` (summary.json has percentiles only)."""
    path = folder / "stats.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["Name"]: float(r["Average Response Time"]) for r in csv.DictReader(handle)
                if r.get("Average Response Time")}


def _per_bin(folder: Path, rates: np.ndarray, endpoints: list[str], minute_s: float, set_up_s: float,
             session_bins: dict[str, Any]) -> dict[str, BinRow]:
    """Planned and achieved requests per 10-s bin, for the endpoints planning at least
    MIN_PER_BIN in every bin (loadtests.requests holds the judgement of every endpoint)."""
    edges = np.arange(0.0, rates.shape[1] * minute_s + 1e-9, BIN_S)
    if edges.size < 2:
        return {}
    achieved = achieved_per_bin(session_bins, set_up_s, folder, edges)
    out = {}
    for name, planned in zip(endpoints, planned_per_bin(rates, minute_s, edges), strict=True):
        if planned.min() < MIN_PER_BIN or name not in achieved:
            continue
        got = achieved[name]
        out[name] = BinRow(planned=[round(float(v), 1) for v in planned],
                           achieved=[round(float(v), 1) for v in got],
                           max_error=float(np.max(np.abs(got - planned) / planned)))
    return out


def _row(predicted: float, measured: float | None, requests: int, figure: str) -> FigureRow:
    latency = figure.endswith("_ms")
    if measured is None or (latency and requests < MIN_REQUESTS):
        why = f"{requests} requests (< {MIN_REQUESTS})" if measured is not None else "not measured"
        return FigureRow(predicted=predicted, measured=measured, relative_error=None, why_no_error=why)
    error = predicted / measured - 1.0 if measured > 0 else None
    return FigureRow(predicted=predicted, measured=measured, relative_error=error)


def _not_comparable(summary: LoadtestSummary, calibration: dict[str, Any] | None, calibrated: str,
                    tested_target: str) -> list[str]:
    """Why the test cannot be compared with the calibrated model: nothing when it can."""
    reasons = []
    if summary.generator_cpu.saturated:
        reasons.append("the load generator saturated: its latencies measure itself")
    arrivals = summary.arrivals
    if arrivals.dropped:
        reasons.append(f"{arrivals.dropped} arrivals dropped by the generator")
    elif not arrivals.within_10pct:
        reasons.append(f"arrivals off the plan by up to {100 * float(arrivals.max_bin_error):.0f}% "
                       "in a bin: the generator did not keep the schedule")
    if calibration is not None and calibrated != tested_target:
        reasons.append(f"the platform was calibrated against {calibrated}, "
                       f"the test ran against {tested_target}")
    return reasons


def compare(summary: LoadtestSummary, folder: Path, scenario: Scenario, timeseries: Path,
            calibration: dict[str, Any] | None,
            tested_target: str, utilisation: dict[str, float], seed: int = 0,
            host: HostSampler | None = None, in_app_ms: dict[str, float] | None = None) -> Prediction:
    """The comparison for the load test whose ``summary.json`` is ``summary`` (written in ``folder``).
    ``host``: the target's host was sampled (a server started here): the prediction at the
    achieved load serves the api tier's workers beside the CPU the host spent on other work."""
    from sim.tiers.replay import predict

    calibrated = str((calibration or {}).get("target", "unknown (no calibration file)"))
    reasons = _not_comparable(summary, calibration, calibrated, tested_target)
    comparable = not reasons
    endpoints = [e.name for e in scenario.platform.endpoints]
    minute_s = 60.0 / float(summary.compress)
    duration = float(summary.duration_s)
    minutes = max(1, int(round(duration / minute_s)))
    if summary.stretch_first_minute is None:
        raise CalibrationError("the load test's summary.json does not record its stretch's first minute")
    try:
        rates = model_rates(timeseries, summary.stretch_first_minute, minutes, endpoints,
                            float(summary.scale), float(summary.compress))
    except PlanError as exc:
        raise CalibrationError(str(exc)) from None
    set_up_s = float(summary.set_up_s)
    timeout = float(scenario.behaviour.overload.abandon_after_s)
    rng = np.random.default_rng(seed)
    means = measured_means(folder)
    utilisation = _in_window(utilisation, host, folder, set_up_s, duration, scenario)
    planned = predict(scenario, rates, minute_s, rng, timeout)
    at_achieved = None
    achieved_rps = achieved_rates(folder, endpoints, duration, set_up_s, summary.session_bins)
    if achieved_rps is not None:
        share = _host_share(host, folder, set_up_s, achieved_rps.shape[1], calibration)
        at_load = predict(scenario, achieved_rps, BIN_S, rng, timeout, share)
        at_achieved = AtLoad(endpoints=_side_by_side(at_load, summary, means, duration, comparable),
                             tiers=_tiers(at_load, utilisation, comparable), host=_host_row(share))
    background = against_calibration(calibration, host, folder, set_up_s, summary.model_dump())
    result = Prediction(
        comparable=comparable, reason="; ".join(reasons), calibrated_target=calibrated,
        tested_target=tested_target, endpoints=_side_by_side(planned, summary, means, duration, comparable),
        tiers=_tiers(planned, utilisation, comparable),
        planned_vs_achieved=_requests(summary, rates, endpoints, minute_s),
        per_bin=_per_bin(folder, rates, endpoints, minute_s, set_up_s, summary.session_bins),
        at_achieved=at_achieved, in_app=_in_app(in_app_ms or {}, means),
        background=Background.model_validate(background) if background else None,
        coverage=coverage(host, folder, set_up_s, duration), writer={})
    return result.model_copy(update={"metrics": gate_metrics(comparable, result.compared())})


def _requests(summary: LoadtestSummary, rates: np.ndarray, endpoints: list[str],
              minute_s: float) -> dict[str, RequestsRow]:
    """Each endpoint's requests over the test: planned by the model, finished by the target."""
    out = {}
    for name, row in zip(endpoints, rates, strict=True):
        count = float(row.sum() * minute_s)
        measured = summary.endpoints.get(name)
        achieved = measured.requests if measured else 0
        out[name] = RequestsRow(planned=round(count, 1), achieved=achieved,
                                ratio=achieved / count if count > 0 else None)
    return out


def _in_app(in_app_ms: dict[str, float], means: dict[str, float]) -> dict[str, InAppRow]:
    return {name: InAppRow(in_app_ms=round(ms, 3), mean_ms=means[name], outside_ms=round(means[name] - ms, 3))
            for name, ms in in_app_ms.items() if name in means}


def _host_row(share: HostShare | None) -> HostRow | None:
    if share is None:
        return None
    wall = (None if share.wall is None
            else WallRow(reference_cores=share.wall.reference_cores, share=share.wall.share))
    return HostRow(tier=share.tier, cores=share.cores, runs=list(share.runs), wall=wall,
                   background_cores=[round(float(v), 3) for v in share.background])


def _in_window(utilisation: dict[str, float], host: HostSampler | None, folder: Path, set_up_s: float,
               duration: float, scenario: Scenario, tier: str = "api") -> dict[str, float]:
    """The api's (and the database's) measured utilisation over the replay alone when the host
    was sampled: the meter's first and last readings also hold the resumed sessions' set-up
    and the drain, which the prediction has not (13:21 and 13:44 tests: api 0.318 and 0.540
    by the meter, 0.281 and 0.478 over the replay, 0.232 and 0.431 predicted)."""
    origin = replay_origin(folder, set_up_s) if host is not None else None
    if host is None or origin is None:
        return utilisation
    out = dict(utilisation)
    cores = host.server_cores(origin, origin + duration)
    if cores is not None:
        out[tier] = cores / pool_servers(scenario, tier)
    # the database as the meter read it, over the replay too: over the intervals whose readings
    # were ours alone (host.covered), so also when the whole test's two readings were not
    database = host.database_busy(origin, origin + duration)
    if database is not None:
        names = [t for t in utilisation if t != tier]
        names += [t for t in (host.database_tier,) if t and t != tier and t not in names]
        for name in names:
            out[name] = database / pool_servers(scenario, name)
    return out


def _host_share(host: HostSampler | None, folder: Path, set_up_s: float, bins: int,
                calibration: dict[str, Any] | None = None, tier: str = "api") -> HostShare | None:
    """The api tier's host during the test: its cores and the background per 10-s bin, and the
    stretch of the PostgreSQL writer thread's wall time with the host's busy cores, fitted on
    the calibration's steps (``calibrate.wall_stretch``; None without its rows). The SQLite
    group commits the api's loops run are not stretched (``HostShare.runs`` stays empty): with
    the loops' own wall over CPU the database was over-predicted by 13-59 points past the knee
    (docs/calibration-log.md, "The SQLite writer's commit and write, by size"), and with the host's
    busy cores by 8 points and the heartbeat +74-96% at 110% of the 2026-12-01 01:28 knee
    (docs/calibration-log.md, "Demands that move with load")."""
    from calibrate.wall_stretch import from_calibration

    origin = replay_origin(folder, set_up_s) if host is not None else None
    if host is None or origin is None:
        return None
    background = host.background(origin, np.arange(bins + 1) * BIN_S)
    if background is None:
        return None
    cores = float(host.cores)
    return HostShare(tier, cores, background, wall=from_calibration(calibration, cores))


def achieved_rates(folder: Path, endpoints: list[str], duration: float,
                    set_up_s: float, session_bins: dict[str, Any]) -> np.ndarray | None:
    """(endpoints × 10-s bins) requests/s the target really got, from Locust's history."""
    edges = np.arange(0.0, duration + 1e-9, BIN_S)
    if edges.size < 2:
        return None
    counts = achieved_per_bin(session_bins, set_up_s, folder, edges)
    if not counts:
        return None
    return np.array([counts.get(name, np.zeros(edges.size - 1)) for name in endpoints]) / BIN_S


def _side_by_side(prediction: ReplayPrediction, summary: LoadtestSummary, means: dict[str, float],
                  duration: float, comparable: bool) -> EndpointRows:
    """Per endpoint and figure: predicted and measured, with the relative error when comparable.
    Measured throughput is over the replay's planned duration, as the prediction's is."""
    out = {}
    for name, predicted in prediction.endpoints.items():
        measured = summary.endpoints.get(name)
        if measured is None or not comparable:
            out[name] = {f: FigureRow(predicted=float(getattr(predicted, f)), measured=None) for f in FIGURES}
            continue
        n = measured.requests
        observed = {"rps": n / duration if duration > 0 else None, "mean_ms": means.get(name),
                    "p50_ms": measured.p50_ms, "p95_ms": measured.p95_ms, "p99_ms": measured.p99_ms,
                    "error_rate": measured.error_rate}
        out[name] = {f: _row(float(getattr(predicted, f)), observed[f], n, f) for f in FIGURES}
    return out


def _tiers(prediction: ReplayPrediction, utilisation: dict[str, float],
           comparable: bool) -> dict[str, TierRow]:
    out = {}
    for tier, predicted in prediction.utilisation.items():
        got = utilisation.get(tier)
        error = None if got is None or not comparable else 100.0 * (predicted - got)
        out[tier] = TierRow(predicted=float(predicted), measured=got, error_pp=error)
    return out


def load_calibration(platform_file: Path) -> dict[str, Any] | None:
    side = platform_file.with_suffix(".json")
    return json.loads(side.read_text(encoding="utf-8")) if side.is_file() else None


def pool_servers(scenario: Scenario, tier: str) -> int:
    """A pool tier's servers on a (calibrated) platform, 1 when it has no such pool: what a
    measured busy time is divided by, as the prediction divides its own."""
    found = [t for t in scenario.platform.tiers if t.name == tier and isinstance(t, PoolTier)]
    return found[0].servers if found else 1
