"""The model's prediction for one load test, request by request.

A load test replays a stretch with per-endpoint rates that change every model minute
(``60 / compress`` test seconds). Here the same rates drive the request-level network of
``sim.tiers.requestsim`` (Poisson arrivals, piecewise constant; FCFS pools; the tiers' service
distributions), from an empty system as the test starts, and every request's end-to-end
response (the sum of its tiers) is kept, so that the prediction has what the load test
measures: per endpoint throughput, mean, p50/p95/p99 and the share slower than a timeout,
and each tier's utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain import scenario as sc
from sim.tiers.requestsim import _service_times, pools, served


@dataclass(frozen=True)
class EndpointPrediction:
    requests: int
    rps: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float  # share of requests slower than the timeout


@dataclass(frozen=True)
class Prediction:
    duration_s: float
    endpoints: dict[str, EndpointPrediction]
    utilisation: dict[str, float]  # tier -> busy share of its servers over the test


def arrivals(rates: np.ndarray, bin_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poisson arrivals with piecewise-constant rates (endpoints × bins, requests/s):
    sorted times and each request's endpoint index."""
    times, kinds = [], []
    for b in range(rates.shape[1]):
        for e in np.flatnonzero(rates[:, b] > 0):
            count = rng.poisson(rates[e, b] * bin_s)
            times.append(b * bin_s + rng.uniform(0.0, bin_s, count))
            kinds.append(np.full(count, e))
    if not times:
        return np.empty(0), np.empty(0, int)
    t, k = np.concatenate(times), np.concatenate(kinds)
    order = np.argsort(t, kind="stable")
    return t[order], k[order]


def predict(scenario: sc.Scenario, rates: np.ndarray, bin_s: float, rng: np.random.Generator,
            timeout_s: float = np.inf) -> Prediction:
    """``rates``: (platform endpoints × bins) requests/s at test scale."""
    rates = np.asarray(rates, float)
    names = [e.name for e in scenario.platform.endpoints]
    if rates.shape[0] != len(names):
        raise ValueError(f"rates: {rates.shape[0]} rows for {len(names)} endpoints")
    horizon = rates.shape[1] * bin_s
    times, kinds = arrivals(rates, bin_s, rng)
    ready = times.copy()
    utilisation = {}
    for pool in pools(scenario):
        visits = np.flatnonzero(pool.visits[kinds])
        if visits.size == 0:
            utilisation[pool.name] = 0.0
            continue
        visits = visits[np.argsort(ready[visits], kind="stable")]
        service = _service_times(pool, kinds[visits], rng)
        start, leave = (np.array(x) for x in served(pool, ready[visits].tolist(), service.tolist(), rng))
        ready[visits] = leave
        busy = np.clip(np.minimum(leave, horizon) - np.minimum(start, horizon), 0.0, None).sum()
        utilisation[pool.name] = float(busy / (pool.servers * horizon))
    response = ready - times
    out = {}
    for i, name in enumerate(names):
        mine = response[kinds == i]
        if mine.size == 0:
            continue
        p50, p95, p99 = np.quantile(mine, (0.5, 0.95, 0.99)) * 1000.0
        out[name] = EndpointPrediction(int(mine.size), mine.size / horizon, float(mine.mean() * 1000.0),
                                       float(p50), float(p95), float(p99), float((mine > timeout_s).mean()))
    return Prediction(horizon, out, utilisation)
