"""One fit simulation per parameter vector, run in parallel processes or on a Dask cluster.

A simulation is a reduced-population national run: the scenario's whole workforce with at most
``max_simulated`` teachers simulated, each standing for its stratum's share (national weights),
so every figure is at full scale. Before simulating, the participants a vector gives are known
exactly from the population stage (``sim.population.teachers.start_probability``); a vector
whose participation already misses the current tolerance is not simulated (its distance is at
least that miss, so rejecting it is what the full simulation would have done).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import multiprocessing as mp
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.scenario import Scenario
from domain.targets import Target
from fit import params

_BASE: dict[str, Any] = {}  # the worker's copy of the base scenario data (set once per process)


@dataclass(frozen=True)
class Job:
    unit: tuple[float, ...]  # the parameters in the prior's unit cube (fit.params)
    seed: int
    screen: float  # skip the simulation when participation alone is further than this


def expected_participants(scenario: Scenario) -> float:
    from domain.campaign import Campaign
    from sim.model import horizon_s
    from sim.population.arrivals import Profile
    from sim.population.teachers import start_probability, strata_shares

    campaign = Campaign(scenario)
    profile = Profile(scenario, campaign, horizon_s(campaign))
    shares = strata_shares(scenario) * start_probability(scenario, profile)[None, :, None, None]
    return float(scenario.population.teachers * shares.sum())


class Screen:
    """Participants of a parameter vector, computed in this process without simulating.

    The start probability needs the calendar profile only through two operational-time
    quantities: the procrastination horizon (window end minus first opening) and the share of
    each wave inside the window. The intensity is normalised to mean 1 over the window, so when
    the first course opens at the window start and every wave ends inside it both are the same
    for every parameter vector, and the base scenario's profile serves all of them. Otherwise
    ``usable`` is False and the workers screen with each vector's own profile."""

    def __init__(self, base: dict[str, Any], names: list[str], targets: list[Target]) -> None:
        from domain.campaign import Campaign
        from sim.model import horizon_s
        from sim.population.arrivals import Profile

        self.base, self.names = base, names
        self.targets = [t for t in targets if t.metric == "participants"]
        scenario = params.apply(base, [], [])
        campaign = Campaign(scenario)
        self.profile = Profile(scenario, campaign, horizon_s(campaign))
        first_open = min(campaign.offset(r.opens_at) for r in campaign.courses.values())
        end = campaign.end_at.date()
        waves_inside = all(w.start + _days(w.days) <= end for w in scenario.behaviour.waves)
        self.usable = bool(self.targets) and first_open == 0 and waves_inside

    def distance(self, unit: np.ndarray) -> float:
        from sim.population.teachers import start_probability, strata_shares

        values = [params.BY_NAME[n].from_unit(float(u)) for n, u in zip(self.names, unit, strict=True)]
        scenario = params.apply(self.base, self.names, values)
        shares = strata_shares(scenario) * start_probability(scenario, self.profile)[None, :, None, None]
        expected = float(scenario.population.teachers * shares.sum())
        return max(t.distance(expected) for t in self.targets)


def _days(days: float) -> dt.timedelta:
    return dt.timedelta(days=days)


def evaluate(base: dict[str, Any], names: list[str], targets: list[Target], max_simulated: int,
             job: Job) -> dict[str, float]:
    """The metrics of one vector; only ``participants`` (and ``screened``) when screened out."""
    from fit.metrics import metrics
    from sim.model import simulate

    values = [params.BY_NAME[n].from_unit(u) for n, u in zip(names, job.unit, strict=True)]
    scenario = params.apply(base, names, values)
    participation = [t for t in targets if t.metric == "participants"]
    if participation:
        expected = expected_participants(scenario)
        if max(t.distance(expected) for t in participation) > job.screen:
            return {"participants": expected, "screened": 1.0}
    run = simulate(scenario, None, job.seed, max_simulated, shards=1, workers=1)
    return metrics(run)


def _init(base: dict[str, Any]) -> None:
    _BASE.clear()
    _BASE.update(base)


def _evaluate_here(names: list[str], targets: list[Target], max_simulated: int, job: Job) -> dict[str, Any]:
    return evaluate(_BASE, names, targets, max_simulated, job)


class Runner:
    """Maps jobs over worker processes (spawned: no state leaks from the caller) or Dask."""

    def __init__(self, base: dict[str, Any], names: list[str], targets: list[Target], max_simulated: int,
                 workers: int | None = None, scheduler: str | None = None) -> None:
        self.base, self.names, self.targets = base, names, targets
        self.max_simulated = max_simulated
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.scheduler = scheduler
        self._pool: cf.ProcessPoolExecutor | None = None
        self._client = None

    def __enter__(self) -> Runner:
        if self.scheduler:
            from distributed import Client

            client = Client(self.scheduler, timeout="10s")
            self._client = client
            self._base_future = client.scatter(self.base, broadcast=True)
        elif self.workers > 1:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                                initializer=_init, initargs=(self.base,))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._client is not None:
            self._client.close()

    @property
    def parallel(self) -> int:
        if self._client is not None:
            return max(1, sum(self._client.nthreads().values()))
        return self.workers

    def map(self, jobs: list[Job]) -> list[dict[str, float]]:
        args = (self.names, self.targets, self.max_simulated)
        if self._client is not None:
            futures = self._client.map(evaluate, [self._base_future] * len(jobs),
                                       *[[a] * len(jobs) for a in args], jobs, pure=False)
            return self._client.gather(futures)
        if self._pool is not None:
            return list(self._pool.map(_evaluate_here, *[[a] * len(jobs) for a in args], jobs))
        return [evaluate(self.base, *args, job) for job in jobs]


def seeds(seed: int, count: int, start: int = 0) -> list[int]:
    """Independent simulation seeds, reproducible from the fit's seed."""
    ss = np.random.SeedSequence([int(seed), 13])
    return [int(x) for x in ss.generate_state(start + count, np.uint32)[start:]]
