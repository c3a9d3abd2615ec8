"""Shards: the simulated teachers split into groups that run side by side, one per core.

A run of S shards is S complete simulations of disjoint sets of teachers (teacher rows
k, k+S, k+2S, ... form shard k, so every shard holds the same mix of strata), each with its
own SimPy environment, calendar, journeys, recorder and random streams
(``sim.streams.shard_seeds``). Teachers never meet each other; they meet only the platform.
So the shards are coupled once per simulated minute: each shard closes its minute, the
shards' full-scale rates are added up in shard order, and every shard's feedback observes the
same total before the next minute starts (the one-minute lag of ``sim.tiers.feedback``).

A process runs one *group* of shards; the first group runs in the calling process and owns
shard 0 (which also carries the administrators' background load). Since the total is summed
in shard order whatever the grouping, a run's results depend on its seed and its number of
shards, never on the number of processes that ran them.

Several campaigns on one platform (``sim.campaigns``) are a ``Fleet``: every campaign's world
with its own shards, placed on one platform clock (campaign c's minute 0 is platform minute
``offsets[c]``). All shards of all campaigns are coupled the same way, through the summed
rates; a shard outside its campaign's horizon adds nothing. Teachers in two campaigns are a
*guest* world (the second campaign's journeys of the first campaign's teachers, shard by
shard as they are there): each guest shard runs in its host shard's process, after it, and
the two are linked (``links``: their study on shared resources credits both).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim import apart, streams
from sim.population.teachers import Population
from sim.sessions.behaviour import NO_FOCUS, Journeys
from sim.sessions.progress import Progress
from sim.sessions.schedule import Schedule
from sim.tiers.feedback import Feedback

MIN_SHARD_TEACHERS = 50_000  # below this many simulated teachers per shard, one shard
DEFAULT_SHARDS = 2  # the benchmark machines have two cores


def default_shards(simulated: int) -> int:
    """Shards for a run simulating ``simulated`` teachers (fixed, so results do not depend
    on the machine): two once each holds ``MIN_SHARD_TEACHERS``, else one."""
    return max(1, min(DEFAULT_SHARDS, simulated // MIN_SHARD_TEACHERS))


def shard_rows(size: int, shards: int) -> list[np.ndarray]:
    return [np.arange(k, size, shards) for k in range(shards)]


@dataclass
class ShardResult:
    index: int
    totals: dict  # Recorder.totals()
    progress: Progress
    campaign: int = 0
    routed: list[float] = field(default_factory=list)  # shared-credit seconds per campaign


@dataclass
class Fleet:
    """The worlds of the campaigns on one platform, each placed on the platform clock."""

    worlds: list
    offsets: list[int]
    hosts: dict[int, int] = field(default_factory=dict)  # guest world -> the world it is paired with
    links: dict = field(default_factory=dict)  # guest world -> bind(shard, host journeys, guest journeys)

    @classmethod
    def of(cls, world) -> Fleet:
        return cls([world], [0])

    @property
    def shards(self) -> int:
        return sum(w.shards for w in self.worlds)

    @property
    def minutes(self) -> int:
        return max(o + w.profile.minutes for o, w in zip(self.offsets, self.worlds, strict=True))

    @property
    def window(self) -> int:
        return max(o + w.profile.window_minutes for o, w in zip(self.offsets, self.worlds, strict=True))

    def members(self) -> list[tuple[int, int]]:
        """(campaign, shard) of every shard, in the order their rows are summed."""
        return [(c, k) for c, w in enumerate(self.worlds) for k in range(w.shards)]

    def plan(self, workers: int) -> list[list[int]]:
        """Shards (indexes into ``members``) per process. One campaign: contiguous groups;
        several: balanced by simulated teachers (largest shard first to the lightest process),
        since a small campaign's shard costs far less than a large one's."""
        if len(self.worlds) == 1:
            return groups(self.shards, workers)
        members = self.members()
        load = [self.worlds[c].population.size / self.worlds[c].shards for c, _ in members]
        free = [g for g, (c, _) in enumerate(members) if c not in self.hosts]
        bins: list[list[int]] = [[] for _ in range(max(1, min(workers, len(free))))]
        totals = [0.0] * len(bins)
        placed: dict[tuple[int, int], int] = {}
        for g in sorted(free, key=lambda g: (-load[g], g)):
            lightest = totals.index(min(totals))
            bins[lightest].append(g)
            totals[lightest] += load[g]
            placed[members[g]] = lightest
        for g, (c, k) in enumerate(members):  # a guest shard goes where its host shard is
            if c in self.hosts:
                bins[placed[(self.hosts[c], k)]].append(g)
        return sorted(sorted(b) for b in bins)


class _Shard:
    """One shard's simulation, advanced a minute at a time by its group."""

    def __init__(self, world, index: int, feedback: Feedback) -> None:
        rows = world.shard_rows()[index]
        population = world.population.rows(rows)
        rngs = streams.generators(streams.shard_seeds(world.seed, index, world.shards))
        self.index = index
        self.done_s = 0.0
        self.recorder = world.new_recorder()
        if index == 0 and world.background_load:
            world.add_background(self.recorder)
        self.env = simpy.Environment()
        self.schedule = Schedule()
        self.journeys = Journeys(self.env, world.scenario, world.tables, population, world.profile,
                                 self.recorder, feedback, self.schedule, rngs)
        self.schedule.bind(self.journeys.start)
        if world.routes is not None:
            self.journeys.routes = world.routes
            self.journeys.routed = [0.0] * world.campaigns
        first_sessions(population, world, self.schedule)

    def minute(self, minute: int) -> list[float]:
        start = self.journeys.start
        self.done_s = 60.0 * minute
        for tid, at, focus in self.schedule.take(minute):
            start(tid, at, focus)
        until = 60.0 * (minute + 1)
        if self.env.peek() < until:  # an idle environment need not be stepped
            self.env.run(until=until)
        self.done_s = until  # no later step of its journeys precedes it (sim.sessions.shared)
        return self.recorder.close_minute()

    def result(self, campaign: int = 0) -> ShardResult:
        self.recorder.finish()
        return ShardResult(self.index, self.recorder.totals(), self.journeys.ledger.to_progress(),
                           campaign, list(self.journeys.routed))


def first_sessions(pop: Population, world, schedule: Schedule) -> None:
    """Procrastination counts from the first course opening; a wave may pull a start earlier."""
    profile = world.profile
    u0 = profile.op_hours(min(world.tables.opens_s)) + pop.first_u
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


class _Group:
    """The shards one process runs; the shards of one campaign share one ``Feedback`` (all
    observe the same total; campaigns differ in their teachers' patience)."""

    def __init__(self, fleet: Fleet, indexes: list[int], run_apart: bool = False,
                 processes: int = 1) -> None:
        platform = fleet.worlds[0].platform
        self.endpoints = list(platform.endpoints)
        self.window = fleet.window
        self.width = len(self.endpoints) + 1
        self.processes = processes
        # running apart (sim.apart): the idle tests and what this process saw
        self.checks = apart.Checks(fleet, self.endpoints) if run_apart else None
        self.record = apart.Record(self.window, len(indexes), self.width) if run_apart else None
        # campaign name -> (feedback, window end); a guest world shares its campaign's
        self.feedbacks: dict[str, tuple[Feedback, int]] = {}
        self.shards: list[tuple[_Shard, int, int, int]] = []  # shard, world, offset, minutes
        members = fleet.members()
        built: dict[tuple[int, int], _Shard] = {}
        for g in indexes:
            c, k = members[g]
            world, offset = fleet.worlds[c], fleet.offsets[c]
            name = world.scenario.name
            if name not in self.feedbacks:
                feedback = Feedback(world.platform, self.endpoints,
                                    world.scenario.behaviour.overload.abandon_after_s,
                                    world.scenario.failures.waiting_room)
                self.feedbacks[name] = (feedback, offset + world.profile.window_minutes)
            shard = _Shard(world, k, self.feedbacks[name][0])
            self.shards.append((shard, c, offset, world.profile.minutes))
            built[(c, k)] = shard
        for guest, host in fleet.hosts.items():
            for k in range(fleet.worlds[guest].shards):
                if (guest, k) in built:
                    fleet.links[guest].bind(k, built[(host, k)], built[(guest, k)])

    @property
    def calls(self) -> int:
        return sum(feedback.calls for feedback, _ in self.feedbacks.values())

    def minute(self, minute: int) -> np.ndarray:
        """Each shard's full-scale rates for the minute: requests/s per endpoint, then Gbps
        (zeros outside its campaign's horizon)."""
        rows = []
        for shard, _c, offset, minutes in self.shards:
            local = minute - offset
            rows.append(shard.minute(local) if 0 <= local < minutes else [0.0] * self.width)
        return np.array(rows)

    def observe(self, minute: int, total: np.ndarray) -> None:
        rates = None
        for feedback, window in self.feedbacks.values():
            if minute < window:
                rates = total.tolist() if rates is None else rates
                feedback.observe(rates[:-1], rates[-1])

    def results(self) -> list[ShardResult]:
        return [shard.result(c) for shard, c, _, _ in self.shards]


def groups(shards: int, workers: int) -> list[list[int]]:
    """Shards split into ``workers`` contiguous groups (the first holds shard 0)."""
    workers = max(1, min(workers, shards))
    return [part.tolist() for part in np.array_split(np.arange(shards), workers)]


def default_workers(shards: int) -> int:
    if mp.current_process().daemon:  # a pool's worker may not start processes of its own
        return 1
    return max(1, min(shards, os.cpu_count() or 1))


def run_shards(world, workers: int,
               on_minute: Callable[[int], None] | None = None) -> tuple[list[ShardResult], int]:
    """Run every shard through every minute; return the shards' results (in shard order)
    and the number of times the tiers model was asked for a state.

    With several processes, meeting every minute costs more than a minute's work, so they
    first run apart, recording their rates (``sim.apart``): as long as the sum of every
    process's rates keeps the platform idle, no teacher anywhere can see it slow, and apart
    is exactly what meeting would give. If the sum is not idle at minute f, the run starts
    again, apart (and identical) until f, meeting every minute from f on. ``world`` may be
    a ``Fleet`` of several campaigns."""
    fleet = world if isinstance(world, Fleet) else Fleet.of(world)
    plan = fleet.plan(workers)
    if len(plan) == 1:
        return _run(fleet, plan, 0, on_minute)
    first = _run(fleet, plan, None, on_minute)
    if isinstance(first, int):
        return _run(fleet, plan, first, on_minute)
    return first


def _run(world: Fleet, plan: list[list[int]], meet_from: int | None, on_minute):
    """One attempt; the results, or the first minute a shard was not locally idle."""
    links = {(a, b): mp.Pipe() for a in range(len(plan)) for b in range(a + 1, len(plan))}
    stop = mp.Value("q", NEVER)
    children = [_start_child(world, plan, links, rank, meet_from, stop)
                for rank in range(1, len(plan))]
    exchange = _Exchange(0, links, plan)
    _close_others(links, 0)
    try:
        own = _Group(world, plan[0], run_apart=meet_from is None, processes=len(plan))
        ended = [_advance(own, exchange, world, meet_from, stop, on_minute)]
        results = own.results() if ended[0] is None else []
        records = [own.record]
        for _rank, conn in sorted(exchange.links.items()):
            done, record = _receive(conn, pickled=True)
            ended.append(done if isinstance(done, int) else None)
            results += [] if isinstance(done, int) else done
            records.append(record)
    finally:
        for conn in exchange.links.values():
            conn.close()
        for process in children:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    failed = [minute for minute in ended if minute is not None and minute >= 0]
    if own.checks is not None:  # apart: was the sum idle until the end (or a sure stop)?
        limit = min(failed, default=own.window)
        busy = apart.first_busy([r for r in records if r is not None], exchange.order, own.checks, limit)
        if busy is not None or failed:
            return limit if busy is None else busy
    return sorted(results, key=lambda r: (r.campaign, r.index)), own.calls


NEVER = 2**62  # no shard has stopped
STOPPED = -1  # stopped because another process's shards made the platform surely busy
CHECK_EVERY = 64  # minutes between looks at whether another process stopped


def _advance(group: _Group, exchange: _Exchange, world: Fleet, meet_from: int | None, stop,
             on_minute: Callable[[int], None] | None = None) -> int | None:
    """Run the group through the horizon: None when done; else (apart) the minute at which
    its shards alone made the platform busy (``STOPPED`` when another process's did)."""
    window, record, checks = group.window, group.record, group.checks
    for minute in range(world.minutes):
        rows = group.minute(minute)
        if minute < window:  # after the window nobody reacts: no need to meet
            if meet_from is not None:
                if minute >= meet_from:
                    group.observe(minute, exchange.total(rows))
            elif record is not None and checks is not None:
                busy = record.see(minute, rows, checks, group.processes)
                if busy is not None:
                    with stop.get_lock():
                        stop.value = min(stop.value, busy)
                    return busy
                if minute % CHECK_EVERY == 0 and stop.value < minute:
                    return STOPPED
        if on_minute is not None:
            on_minute(minute)
    return None


class _Exchange:
    """Every process sends its shards' rows of the minute to every other and adds all rows
    up in shard order, so each computes the same total with no coordinator in between."""

    def __init__(self, rank: int, links: dict, plan: list[list[int]]) -> None:
        self.rank = rank
        # rows arrive in process order; this puts them back in shard order before adding
        self.order = np.argsort(np.concatenate([np.asarray(p, dtype=np.int64) for p in plan]),
                                kind="stable")
        self.links = {}  # other process's rank -> our end of the pipe to it
        for (a, b), (end_a, end_b) in links.items():
            if rank == a:
                self.links[b] = end_a
            elif rank == b:
                self.links[a] = end_b

    def total(self, rows: np.ndarray) -> np.ndarray:
        if not self.links:
            return rows.sum(axis=0)
        payload = rows.tobytes()
        for conn in self.links.values():  # small messages: a pipe's buffer takes them at once
            conn.send_bytes(payload)
        parts = {self.rank: rows}
        for rank, conn in self.links.items():
            parts[rank] = np.frombuffer(_receive(conn)).reshape(-1, rows.shape[1])
        return apart.add([parts[r] for r in sorted(parts)], self.order)


def _receive(conn, pickled: bool = False):
    try:
        return conn.recv() if pickled else conn.recv_bytes()
    except EOFError:
        raise RuntimeError("a shard process stopped before the end of the run") from None


def _start_child(world, plan: list[list[int]], links: dict, rank: int, meet_from: int | None, stop):
    process = mp.Process(target=_child, args=(world, plan, links, rank, meet_from, stop),
                         daemon=True, name=f"yanxiu-shards-{plan[rank][0]}")
    process.start()
    return process


def _child(world, plan: list[list[int]], links: dict, rank: int, meet_from: int | None,
           stop) -> None:
    exchange = _Exchange(rank, links, plan)
    _close_others(links, rank)
    group = _Group(world, plan[rank], run_apart=meet_from is None, processes=len(plan))
    ended = _advance(group, exchange, world, meet_from, stop)
    exchange.links[0].send((group.results() if ended is None else ended, group.record))
    for conn in exchange.links.values():
        conn.close()


def _close_others(links: dict, rank: int) -> None:
    """Close the pipe ends this process inherited but does not own (so a peer that dies is
    seen as the end of its pipe, not as silence)."""
    for (a, b), ends in links.items():
        for end, owner in zip(ends, (a, b), strict=True):
            if owner != rank:
                end.close()
