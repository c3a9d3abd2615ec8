"""Requests served by the request-level event loop (``sim.tiers.batching.serve_batches``), for
the api fits' tests: Poisson arrivals over a step, each of an endpoint drawn from a mix, with
exponential service of its demand."""

from __future__ import annotations

import numpy as np

from sim.tiers.batching import serve_batches


def served(rng: np.random.Generator, rate: float, mix: tuple[float, ...] | list[float], demand_s: list[float],
           servers: int, wakeup_s: float, horizon_s: float) -> tuple[np.ndarray, ...]:
    """(kinds, service, start, leave) of the requests of one step: the endpoint index of each,
    its service, and when its batch started and it left (the wake-up included)."""
    count = rng.poisson(rate * horizon_s)
    arrivals = np.sort(rng.uniform(0.0, horizon_s, count))
    kinds = rng.choice(len(demand_s), size=count, p=mix)
    service = rng.exponential(1.0, count) * np.array(demand_s)[kinds]
    start, leave = (np.array(x) for x in serve_batches(arrivals.tolist(), service.tolist(), servers,
                                                       wakeup_s, each=True))
    return kinds, service, start, leave
