"""Wiring of one model run: scenario -> population -> SimPy run -> per-minute arrays -> tiers.

Nothing here decides behaviour; it builds the parts every shard shares (``World``: the
calendar profile, the population, the rule tables, the platform), lets ``sim.shards`` run the
teachers minute by minute (each shard starts the sessions due in the minute, closes its
accumulators, and all observe the platform's state from their summed full-scale rates), then
adds the shards' results up and evaluates the tiers on the whole run's rates.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from domain.campaign import Campaign
from domain.rules import RuleTables
from domain.scenario import Scenario
from sim import streams
from sim.population.arrivals import Profile
from sim.population.background import add_admin_views, add_certificate_fetches
from sim.population.teachers import Population, build_population
from sim.sessions.progress import Progress
from sim.sessions.recorder import Recorder
from sim.shards import default_shards, default_workers, run_shards, shard_rows
from sim.tiers.platform import Platform, TierSeries

DEFAULT_MAX_SIMULATED = 500_000  # participants simulated one by one; above: a weighted sample
TAIL_DAYS = 10.0  # days after the certificate batch kept in the series (certificate fetches)


@dataclass
class ModelRun:
    scenario: Scenario
    seed: int
    seeds: dict[str, int]
    campaign: Campaign
    profile: Profile
    population: Population
    tables: RuleTables
    recorder: Recorder
    progress: Progress
    completed_at: np.ndarray
    certificate_at: np.ndarray
    tiers: TierSeries
    platform: Platform
    admins: float
    shards: int = 1
    stats: dict[str, float] = field(default_factory=dict)

    def offsets(self) -> np.ndarray:
        return np.arange(self.recorder.minutes) * 60.0


@dataclass
class World:
    """What every shard of a run shares: the scenario turned into typed parts, the
    population and the run's background stream (administrators' views, drawn by shard 0 when
    it is built, then certificate fetches after the run)."""

    scenario: Scenario
    seed: int
    shards: int
    campaign: Campaign
    profile: Profile
    population: Population
    tables: RuleTables
    platform: Platform
    background_seed: int
    background: np.random.Generator | None = None
    admins: float = 0.0
    # on a platform of several campaigns (sim.campaigns): the shared-credit routes per course
    # slot (Journeys.routes) and how many campaigns they may name
    routes: list[list[tuple[int, float, float, float, int]]] | None = None
    campaigns: int = 1
    # the teachers of each shard when not every S-th row (sim.campaigns: the teachers of
    # another campaign also in this one, shard by shard as they are there); and whether
    # shard 0 carries the administrators' background load (not for such teachers)
    split: list[np.ndarray] | None = None
    background_load: bool = True

    def shard_rows(self) -> list[np.ndarray]:
        return shard_rows(self.population.size, self.shards) if self.split is None else self.split

    def new_recorder(self) -> Recorder:
        start, profile = self.campaign.start_at, self.profile
        day0_s = (start - dt.datetime.combine(start.date(), dt.time(), start.tzinfo)).total_seconds()
        days = int(math.ceil((profile.minutes * 60.0 + day0_s) / 86400.0))
        heartbeat = {str(sub): float(s) for sub, s in self.scenario.platform.heartbeat_interval_s.items()}
        request_kb = {e.name: float(e.request_kb) for e in self.scenario.platform.endpoints}
        shut = profile.shut_minutes() if profile.closures else None
        return Recorder(self.platform.endpoints, profile.minutes, days, day0_s, heartbeat, request_kb,
                        shut, len(self.scenario.courses))

    def add_background(self, recorder: Recorder) -> None:
        """Administrators' views into shard 0's recorder; the stream starts afresh each time
        (a run that starts again must draw the same views)."""
        self.background = np.random.default_rng(self.background_seed)
        self.admins = add_admin_views(self.scenario, self.profile, recorder,
                                      self.population.teachers, self.background)


def horizon_s(campaign: Campaign) -> float:
    end = campaign.offset(campaign.end_at)
    issued = campaign.offset(campaign.certificates_at)
    return max(end, issued) + TAIL_DAYS * 86400.0


def build_world(scenario: Scenario, teachers: int | None, seed: int, max_simulated: int | None,
                shards: int | None) -> World:
    seeds = streams.stream_seeds(seed)
    campaign = Campaign(scenario)
    profile = Profile(scenario, campaign, horizon_s(campaign))
    population = build_population(scenario, profile, np.random.default_rng(seeds["population"]),
                                  teachers, max_simulated)
    shards = default_shards(population.size) if shards is None else int(shards)
    if shards < 1:
        raise ValueError(f"shards: {shards} is below 1")
    return World(scenario, seed, shards, campaign, profile, population, RuleTables(campaign, scenario),
                 Platform(scenario), seeds["background"])


def run_model(scenario: Scenario, teachers: int | None = None, seed: int | None = None,
              max_simulated: int | None = DEFAULT_MAX_SIMULATED,
              on_day: Callable[[int, int], None] | None = None,
              shards: int | None = None, workers: int | None = None) -> ModelRun:
    """Simulate the campaign in ``shards`` groups of teachers (default: ``default_shards``)
    on ``workers`` processes (default: one per shard, at most the cores); results depend on
    the seed and the shards only. ``on_day(done, total)`` reports once a simulated day."""
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    sim = simulate(scenario, teachers, seed, max_simulated, on_day, shards, workers)
    world, recorder, progress, completed_at = sim.world, sim.recorder, sim.progress, sim.completed_at
    built, simulated, calls, workers, tables = sim.built, sim.simulated, sim.calls, sim.workers, world.tables
    assert world.background is not None, "the background stream is drawn with the run"
    certificate_at = add_certificate_fetches(scenario, tables, world.profile, recorder, completed_at,
                                             world.population.weight, world.background)
    series = recorder.series()
    rps = {name: series[f"rps.{name}"] for name in world.platform.endpoints}
    tiers = world.platform.evaluate(rps, series["egress_gbps"])
    stats = {"build_s": built - started, "simulate_s": simulated - built,
             "tiers_s": time.perf_counter() - simulated, "feedback_calls": calls,
             "sessions_simulated": float(recorder.sessions_simulated),
             "shards": float(world.shards), "workers": float(min(workers, world.shards))}
    return ModelRun(scenario, seed, _seeds(seed, world.shards), world.campaign, world.profile,
                    world.population, tables, recorder, progress, completed_at, certificate_at,
                    tiers, world.platform, world.admins, world.shards, stats)


@dataclass
class Simulated:
    """The teachers' part of a run, before certificates and tiers (what a fit needs)."""

    world: World
    recorder: Recorder
    progress: Progress
    completed_at: np.ndarray
    calls: float
    workers: int
    built: float  # perf_counter() stamps, for the run's timings
    simulated: float


def simulate(scenario: Scenario, teachers: int | None = None, seed: int | None = None,
             max_simulated: int | None = DEFAULT_MAX_SIMULATED,
             on_day: Callable[[int, int], None] | None = None,
             shards: int | None = None, workers: int | None = None) -> Simulated:
    """Build the world and run its shards; the recorder holds the teachers' load only."""
    seed = scenario.seed if seed is None else int(seed)
    world = build_world(scenario, teachers, seed, max_simulated, shards)
    workers = default_workers(world.shards) if workers is None else int(workers)
    built = time.perf_counter()
    results, calls = run_shards(world, workers, _daily(on_day, world.profile.minutes))
    simulated = time.perf_counter()
    recorder = world.new_recorder()
    for part in results:
        recorder.absorb(part.totals)
    rows = shard_rows(world.population.size, world.shards)
    progress = Progress.gather([r.progress for r in results], rows, world.population.size)
    return Simulated(world, recorder, progress, progress.completed_at(world.tables), calls, workers,
                     built, simulated)


def _seeds(seed: int, shards: int) -> dict[str, int]:
    """Every stream's seed; with several shards, the teacher streams are per shard."""
    if shards == 1:
        return streams.stream_seeds(seed)
    out = {name: value for name, value in streams.stream_seeds(seed).items()
           if name in streams.SHARED_STREAMS}
    for k in range(shards):
        for name, value in streams.shard_seeds(seed, k, shards).items():
            if name not in streams.SHARED_STREAMS:
                out[f"{name}.shard{k}"] = value
    return out


def _daily(on_day: Callable[[int, int], None] | None, minutes: int):
    if on_day is None:
        return None
    days = int(math.ceil(minutes / 1440))

    def on_minute(minute: int) -> None:
        if (minute + 1) % 1440 == 0:
            on_day((minute + 1) // 1440, days)

    return on_minute
