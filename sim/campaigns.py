"""Several campaigns on one platform at once (a platform scenario, ``domain.platform``).

Each campaign is a world of its own (calendar, population, courses, rules, behaviour, random
streams seeded from the platform's seed and its place in the list), simulated in its own
shards. All shards of all campaigns run on one platform clock (``sim.shards.Fleet``: minute 0
is the earliest campaign's start) and are coupled the way one campaign's shards are: every
minute the platform's state comes from the sum of every campaign's rates, so one campaign's
overload is felt by the teachers of all.

Outputs by campaign and in total: each campaign's load on the platform clock, added up in
campaign order into the platform's load (so the parts sum to the total by construction, and
the tests check it); the tiers evaluated on the total (what the platform needs) and on each
campaign alone (what it would need by itself); each campaign's share of the shared peak and
which campaign sets each tier's need.

Shared credit (``domain.campaign.SharedCredit``): study of a course whose resources are also
another campaign's counts there too while that campaign's rules record it, for the teachers
who take part in both (the platform scenario's ``overlaps:``, ``sim.overlaps``): their study
is added to their progress in the other campaign (``routed_hours``: such study, by the
campaign it is credited in). A teacher in one campaign only gets nothing from another.

Sampling: above ``max_simulated`` participants in all, each campaign simulates a share of the
budget in proportion to its participants, so a platform run costs about what its largest
campaign costs alone (bench/bench_multi.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from domain.platform import PlatformScenario, participants
from sim import overlaps
from sim.model import DEFAULT_MAX_SIMULATED, ModelRun, World, _daily, _seeds, build_world
from sim.population.background import add_certificate_fetches
from sim.population.teachers import join
from sim.sessions.progress import Progress
from sim.shards import Fleet, ShardResult, default_shards, default_workers, run_shards
from sim.tiers import sizing
from sim.tiers.platform import Platform, TierSeries

LOAD_COLUMNS = ("rps.total", "sessions", "viewers", "egress_gbps", "errors_per_s")


@dataclass
class CampaignPart:
    """One campaign of a platform run: its own run (outcomes; tiers evaluated on its load
    alone) and its load on the platform clock."""

    run: ModelRun
    offset: int  # platform minute of the campaign's minute 0
    series: dict[str, np.ndarray]  # Recorder.series() placed on the platform clock
    routed_hours: dict[str, float]  # study hours also credited to the same teachers elsewhere
    in_both: dict[str, float] = field(default_factory=dict)  # participants also in another campaign

    @property
    def name(self) -> str:
        return self.run.scenario.name


@dataclass
class PlatformRun:
    plan: PlatformScenario
    seed: int
    start_at: dt.datetime
    minutes: int
    parts: list[CampaignPart]
    series: dict[str, np.ndarray]  # the platform's load: the parts added up in campaign order
    tiers: TierSeries
    platform: Platform
    stats: dict[str, float] = field(default_factory=dict)

    def part(self, name: str) -> CampaignPart:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)


def campaign_seed(seed: int, index: int) -> int:
    """The seed of the ``index``-th campaign of a platform run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, 0x17, index]).generate_state(1)[0])


def _participants(plan: PlatformScenario, scale: float) -> list[float]:
    return [participants(s) * scale for s in plan.campaigns]


def budgets(plan: PlatformScenario, scale: float, max_simulated: int | None) -> list[int | None]:
    """Simulated teachers per campaign: the budget shared in proportion to participants."""
    participants = _participants(plan, scale)
    if max_simulated is None:
        return [None] * len(participants)
    total = sum(participants)
    return [max(1, int(max_simulated * p / total)) for p in participants]


def run_platform(plan: PlatformScenario, scale: float = 1.0, seed: int | None = None,
                 max_simulated: int | None = DEFAULT_MAX_SIMULATED,
                 on_day: Callable[[int, int], None] | None = None,
                 shards: int | None = None, workers: int | None = None) -> PlatformRun:
    """Simulate every campaign of ``plan`` on its one platform; ``scale`` multiplies every
    campaign's teachers (1: the scenario's)."""
    if not scale > 0:
        raise ValueError(f"scale: {scale} is not above 0")
    started = time.perf_counter()
    seed = plan.seed if seed is None else int(seed)
    worlds, duals = _worlds(plan, scale, seed, max_simulated, shards)
    start_at = min(w.campaign.start_at for w in worlds)
    offsets = [_whole_minutes(w.campaign.start_at - start_at, w.scenario.name) for w in worlds]
    fleet = _with_guests(Fleet(list(worlds), list(offsets)), plan, seed, duals)
    workers = default_workers(fleet.shards) if workers is None else int(workers)
    built = time.perf_counter()
    results, calls = run_shards(fleet, workers, _daily(on_day, fleet.minutes))
    simulated = time.perf_counter()
    guests = {g: fleet.links[g].guest for g in fleet.hosts}
    parts = [_part(world, c, offsets[c], fleet.minutes,
                   [(w, [r for r in results if r.campaign == w]) for w in [c] + sorted(
                       g for g, owner in guests.items() if owner == c)], fleet, plan, seed)
             for c, world in enumerate(worlds)]
    for g, link in fleet.links.items():  # the teachers in two campaigns, as each campaign sees them
        both = float(fleet.worlds[g].population.weight.sum())
        parts[link.host].in_both[parts[link.guest].name] = both
        parts[link.guest].in_both[parts[link.host].name] = both
    total = add_up([p.series for p in parts])
    platform = worlds[0].platform
    tiers = platform.evaluate(_rps(platform, total), total["egress_gbps"])
    stats = {"build_s": built - started, "simulate_s": simulated - built,
             "tiers_s": time.perf_counter() - simulated, "feedback_calls": float(calls),
             "shards": float(fleet.shards), "workers": float(min(workers, fleet.shards))}
    return PlatformRun(plan, seed, start_at, fleet.minutes, parts, total, tiers, platform, stats)


def _worlds(plan: PlatformScenario, scale: float, seed: int, max_simulated: int | None,
            shards: int | None) -> tuple[list[World], list[np.ndarray]]:
    """Every campaign's world, and per overlap the rows of its campaign's teachers who are
    also in the other one (that campaign's own population is smaller by their weight)."""
    credit = plan.shared_credit()
    names = [s.name for s in plan.campaigns]
    slots = {name: list(campaign.course_ids()) for name, campaign in credit.campaigns.items()}
    caps = budgets(plan, scale, max_simulated)
    stated = overlaps.stated(plan.overlaps, names)
    worlds: dict[int, World] = {}
    duals: dict[int, np.ndarray] = {}
    # the campaigns other teachers are also in come last: they lose those teachers' weight
    for c in sorted(range(len(names)), key=lambda c: (any(b == c for _, b, _ in stated), c)):
        scenario = plan.campaigns[c]
        teachers = max(1, round(scenario.population.teachers * scale))
        for i, (a, b, share) in enumerate(stated):
            if b == c:  # the teachers also in campaign a are simulated with a's (sim.overlaps)
                weight = worlds[a].population.weight
                duals[i] = overlaps.dual_rows(weight, share, np.random.default_rng(
                    overlaps.overlap_seed(seed, i, "in_both")))
                per_teacher = participants(scenario) / scenario.population.teachers
                teachers = max(1, teachers - round(float(weight[duals[i]].sum()) / per_teacher))
        world = build_world(scenario, teachers, campaign_seed(seed, c), caps[c],
                            shards if shards is not None else _default_shards(plan, scale, max_simulated, c))
        if any(c in (a, b) for a, b, _ in stated):  # shared credit needs a teacher in both
            shared = credit.shared_courses(scenario.name)
            world.routes = [[(names.index(s.campaign), s.fraction, world.campaign.offset(s.opens_at),
                              world.campaign.offset(s.closes_at), slots[s.campaign].index(s.course_id))
                             for s in shared[cid]] for cid in world.tables.course_ids]
        world.campaigns = len(names)
        worlds[c] = world
    return [worlds[c] for c in range(len(names))], [duals[i] for i in range(len(stated))]


def _with_guests(fleet: Fleet, plan: PlatformScenario, seed: int, duals: list[np.ndarray]) -> Fleet:
    """The fleet with a guest world per overlap: B's journeys of A's teachers also in B
    (sim.overlaps), shard by shard as A's, linked to them."""
    names = [s.name for s in plan.campaigns]
    stated = overlaps.stated(plan.overlaps, names)
    for i, ((a, b, _share), dual) in enumerate(zip(stated, duals, strict=True)):
        host, target = fleet.worlds[a], fleet.worlds[b]
        rng = np.random.default_rng(overlaps.overlap_seed(seed, i, "personas"))
        provinces = [p.name for p in host.scenario.population.provinces]
        population = overlaps.personas(host.population.rows(dual), provinces, target, rng)
        rows, tids = overlaps.split(host.shard_rows(), dual)
        guest = World(target.scenario, campaign_seed(seed, len(names) + i), host.shards, target.campaign,
                      target.profile, population, target.tables, target.platform, 0,
                      routes=target.routes, campaigns=len(names), split=rows, background_load=False)
        g = len(fleet.worlds)
        fleet.worlds.append(guest)
        fleet.offsets.append(fleet.offsets[b])
        fleet.hosts[g] = a
        fleet.links[g] = overlaps.Link(a, b, tids, 60.0 * (fleet.offsets[a] - fleet.offsets[b]))
    return fleet


def _default_shards(plan: PlatformScenario, scale: float, max_simulated: int | None,
                    index: int) -> int | None:
    """The shards of a platform's campaigns when not given: the biggest campaign gets as many
    as the whole platform's sample would get alone (so its work still spreads over the cores,
    as when it runs alone); the others the default for their size."""
    participants = _participants(plan, scale)
    if index != participants.index(max(participants)):
        return None
    total = sum(participants) if max_simulated is None else min(sum(participants), max_simulated)
    return default_shards(int(round(total)))


def _whole_minutes(delta: dt.timedelta, name: str) -> int:
    seconds = delta.total_seconds()
    if seconds % 60:
        raise ValueError(f"{name}: calendar.start: campaigns must start on whole minutes of one clock")
    return int(seconds // 60)


def _part(world: World, index: int, offset: int, minutes: int,
          shares: list[tuple[int, list[ShardResult]]], fleet: Fleet, plan: PlatformScenario,
          seed: int) -> CampaignPart:
    """One campaign's results gathered from its shards, as ``sim.model.run_model`` does, and
    from its guest worlds' (its journeys of other campaigns' teachers; rows after its own)."""
    recorder = world.new_recorder()
    population = world.population
    parts, rows, results = [], [], []
    for w, found in shares:
        member, start = fleet.worlds[w], 0
        if w != index:
            start = population.size
            population = join(population, member.population)
        for result in found:
            recorder.absorb(result.totals)
            parts.append(result.progress)
            rows.append(member.shard_rows()[result.index] + start)
        results += found
    progress = Progress.gather(parts, rows, population.size)
    completed_at = progress.completed_at(world.tables)
    if world.background is None:  # its shard 0 ran in another process: draw the same stream here
        world.add_background(world.new_recorder())
    assert world.background is not None
    certificate_at = add_certificate_fetches(world.scenario, world.tables, world.profile, recorder,
                                             completed_at, population.weight, world.background)
    own = recorder.series()
    tiers = world.platform.evaluate(_rps(world.platform, own), own["egress_gbps"])
    stats = {"sessions_simulated": float(recorder.sessions_simulated), "feedback_calls": 0.0,
             "shards": float(world.shards)}
    seeds = _seeds(world.seed, world.shards)
    for w, _found in shares[1:]:  # its journeys of other campaigns' teachers (sim.overlaps)
        member = fleet.worlds[w]
        seeds.update({f"in_both.{k}": v for k, v in _seeds(member.seed, member.shards).items()})
    for i, overlap in enumerate(plan.overlaps):
        if overlap.also_in == world.scenario.name:
            seeds.update({f"overlap.{s}": overlaps.overlap_seed(seed, i, s) for s in overlaps.STREAMS})
    run = ModelRun(world.scenario, world.seed, seeds, world.campaign,
                   world.profile, population, world.tables, recorder, progress, completed_at,
                   certificate_at, tiers, world.platform, world.admins, world.shards, stats)
    routed = np.zeros(len(plan.campaigns))
    for result in results:
        if result.routed:
            routed += np.asarray(result.routed)
    hours = {plan.campaigns[c].name: float(s) / 3600.0 for c, s in enumerate(routed) if c != index}
    return CampaignPart(run, offset, {k: place(v, offset, minutes) for k, v in own.items()}, hours)


def place(values: np.ndarray, offset: int, minutes: int) -> np.ndarray:
    """A campaign's per-minute column on the platform clock (zero outside its horizon)."""
    out = np.zeros(minutes)
    out[offset:offset + values.size] = values
    return out


def add_up(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The platform's columns: the campaigns' columns added in campaign order."""
    total = {name: np.zeros_like(values) for name, values in parts[0].items()}
    for part in parts:
        for name, values in part.items():
            total[name] += values
    return total


def _rps(platform: Platform, series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: series[f"rps.{name}"] for name in platform.endpoints}


def contributions(run: PlatformRun) -> dict:
    """How much each campaign adds to the shared peak and which campaign sets each tier's need.

    ``peak``: at the minute of the platform's busiest ``rps.total``, each campaign's requests/s
    there (they add up to the peak) and how much lower the peak would be without it.
    ``tiers``: for each sized tier, the capacity the platform needs, what it would need
    without each campaign, and the campaign whose removal lowers the need most (``set_by``;
    the busiest campaign at the tier's hardest minute when no removal changes it)."""
    total = run.series["rps.total"]
    at = int(np.argmax(total))
    by_campaign: dict[str, dict[str, float]] = {}
    peak = {"value": float(total[at]), "minute": at, "by_campaign": by_campaign}
    for part in run.parts:
        without = total - part.series["rps.total"]
        by_campaign[part.name] = {
            "at_peak": float(part.series["rps.total"][at]),
            "share_at_peak": float(part.series["rps.total"][at] / total[at]) if total[at] else 0.0,
            "peak_alone": float(part.series["rps.total"].max()),
            "peak_lowered_without": float(total[at] - without.max())}
    return {"peak": peak, "tiers": _tier_needs(run)}


def _tier_needs(run: PlatformRun) -> dict:
    platform = run.platform
    need = sizing.size(platform, _rps(platform, run.series), run.series["egress_gbps"], run.tiers)
    out = {}
    without = {}
    for part in run.parts:
        rest = {k: run.series[k] - part.series[k] for k in run.series}
        without[part.name] = sizing.size(platform, _rps(platform, rest), rest["egress_gbps"])
    for tier, capacity in need.items():
        lowered = {name: capacity.needed - sized[tier].needed for name, sized in without.items()}
        busiest = max(run.parts, key=lambda p: _tier_load(platform, tier, p.series, capacity.at))
        setter = max(lowered, key=lambda name: lowered[name])
        out[tier] = {"needed": capacity.needed, "unit": capacity.unit, "at": capacity.at,
                     "needed_without": {name: sized[tier].needed for name, sized in without.items()},
                     "busiest_at_hardest_minute": busiest.name,
                     "set_by": setter if lowered[setter] > 0 else busiest.name}
    return out


def _tier_load(platform: Platform, tier: str, series: dict[str, np.ndarray], minute: int) -> float:
    rps = {name: series[f"rps.{name}"][minute:minute + 1] for name in platform.endpoints}
    metrics = platform.evaluate(rps, series["egress_gbps"][minute:minute + 1])
    return float(metrics[tier].load[0])
