"""Wiring of one model run: scenario -> population -> SimPy run -> per-minute arrays -> tiers.

Nothing here decides behaviour; it builds the parts (``sim.arrivals``, ``sim.population``,
``sim.behaviour``, ``sim.metrics``, ``sim.tiers``), runs the clock and collects the results.
The clock is one SimPy process that, every simulated minute, starts the sessions due in
that minute (``Journeys.start``), closes the minute's accumulators and hands the
full-scale rates to the feedback loop (``sim.feedback``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim import streams
from sim.arrivals import Profile
from sim.background import add_admin_views, add_certificate_fetches
from sim.behaviour import NO_FOCUS, Journeys
from sim.campaign import Campaign
from sim.feedback import Feedback
from sim.metrics import Recorder
from sim.population import Population, build_population
from sim.progress import Progress, RuleTables
from sim.scenario import Scenario
from sim.schedule import Schedule
from sim.tiers import Platform, TierSeries

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
    stats: dict[str, float] = field(default_factory=dict)

    def offsets(self) -> np.ndarray:
        return np.arange(self.recorder.minutes) * 60.0


def horizon_s(campaign: Campaign) -> float:
    end = campaign.offset(campaign.end_at)
    issued = campaign.offset(campaign.certificates_at)
    return max(end, issued) + TAIL_DAYS * 86400.0


def run_model(scenario: Scenario, teachers: int | None = None, seed: int | None = None,
              max_simulated: int | None = DEFAULT_MAX_SIMULATED,
              on_day: Callable[[int, int], None] | None = None) -> ModelRun:
    """Simulate the campaign; ``on_day(done, total)`` reports progress once a simulated day."""
    started = time.perf_counter()
    seed = scenario.seed if seed is None else int(seed)
    seeds = streams.stream_seeds(seed)
    rngs = streams.generators(seeds)
    campaign = Campaign(scenario)
    profile = Profile(scenario, campaign, horizon_s(campaign))
    population = build_population(scenario, profile, rngs["population"], teachers, max_simulated)
    tables = RuleTables(campaign, scenario)
    platform = Platform(scenario)
    recorder = _recorder(scenario, campaign, profile, platform)
    admins = add_admin_views(scenario, profile, recorder, population.teachers, rngs["background"])
    feedback = Feedback(platform, platform.endpoints, scenario.behaviour.overload.abandon_after_s)
    env = simpy.Environment()
    schedule = Schedule()
    journeys = Journeys(env, scenario, tables, population, profile, recorder, feedback,
                        schedule, rngs)
    schedule.bind(journeys.start)
    _first_sessions(population, profile, tables, schedule)
    built = time.perf_counter()
    env.process(_clock(env, schedule, journeys, recorder, feedback, profile, on_day))
    env.run()
    simulated = time.perf_counter()
    recorder.finish()
    progress = journeys.progress
    completed_at = progress.completed_at(tables)
    certificate_at = add_certificate_fetches(scenario, tables, profile, recorder, completed_at,
                                             population.weight, rngs["background"])
    series = recorder.series()
    rps = {name: series[f"rps.{name}"] for name in platform.endpoints}
    tiers = platform.evaluate(rps, series["egress_gbps"])
    stats = {"build_s": built - started, "simulate_s": simulated - built,
             "tiers_s": time.perf_counter() - simulated, "feedback_calls": feedback.calls,
             "sessions_simulated": float(recorder.sessions_simulated)}
    return ModelRun(scenario, seed, seeds, campaign, profile, population, tables, recorder,
                    progress, completed_at, certificate_at, tiers, platform, admins, stats)


def _recorder(scenario: Scenario, campaign: Campaign, profile: Profile,
              platform: Platform) -> Recorder:
    start = campaign.start_at
    day0_s = (start - dt.datetime.combine(start.date(), dt.time(), start.tzinfo)).total_seconds()
    days = int(math.ceil((profile.minutes * 60.0 + day0_s) / 86400.0))
    heartbeat = {sub: float(s) for sub, s in scenario.platform.heartbeat_interval_s.items()}
    return Recorder(platform.endpoints, profile.minutes, days, day0_s, heartbeat)


def _first_sessions(pop: Population, profile: Profile, tables: RuleTables,
                    schedule: Schedule) -> None:
    """Procrastination counts from the first course opening; a wave may pull a start earlier."""
    u0 = profile.op_hours(min(tables.opens_s)) + pop.first_u
    focus = np.full(pop.size, NO_FOCUS)
    if pop.wave_u.shape[1]:
        first_wave = pop.wave_u.argmin(axis=1)
        wave_u = pop.wave_u[np.arange(pop.size), first_wave]
        earlier = wave_u < u0
        u0 = np.where(earlier, wave_u, u0)
        focus = np.where(earlier, first_wave, NO_FOCUS)
    start = profile.real_s(u0)
    inside = np.flatnonzero(start < profile.window_s)
    order = inside[np.argsort(start[inside], kind="stable")]
    for tid, at, f in zip(order.tolist(), start[order].tolist(), focus[order].tolist(),
                          strict=True):
        schedule.add(tid, at, f)


def _clock(env: simpy.Environment, schedule: Schedule, journeys: Journeys, recorder: Recorder,
           feedback: Feedback, profile: Profile, on_day):
    window = profile.window_minutes
    days = int(math.ceil(profile.minutes / 1440))
    for minute in range(profile.minutes):
        for tid, at, focus in schedule.take(minute):
            journeys.start(tid, at, focus)
        yield env.timeout(60.0 * (minute + 1) - env.now)
        rps, egress = recorder.close_minute()
        if minute < window:
            feedback.observe(rps, egress)
        if on_day is not None and (minute + 1) % 1440 == 0:
            on_day((minute + 1) // 1440, days)
