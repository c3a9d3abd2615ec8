"""Shard processes that run apart, and the proof afterwards that apart was exact.

Processes that meet every minute (``sim.shards._Exchange``) pay a round trip a minute, more
than a minute's work for most minutes. So they first run apart, each recording its shards'
rates every minute of the window. Apart is exact as long as the platform stays *idle* (no
request can be slow, ``sim.tiers.feedback.Feedback.stays_idle``) under the sum of every
process's rates, minute after minute: an idle platform is the state nobody's feedback leaves.

Each process certifies a minute on its own when its rates times the number of processes
stay idle: each tier's load adds up over processes and is at most that many times the
largest process's, and the idle test is monotone in every tier's load, so if every process
certifies a minute the sum is idle. It certifies ``BLOCK`` minutes at once when their largest
rates (endpoint by endpoint) do, else minute by minute. A process stops where its own rates
alone are not idle (the sum, at least as large, is not either). At the end the first process adds the
recorded rates up, in shard order as a meeting would, for the minutes not every process
certified, and tests them exactly: the first minute that is not idle is where the run must
start again, meeting from there (``sim.shards.run_shards``); none, and the apart run is the run.

The idle test is the campaigns': each campaign's patience and waiting room (one test per
distinct pair), while its window is open (its feedback observes nothing after it).
"""

from __future__ import annotations

import numpy as np

from sim.tiers.feedback import Feedback


class Checks:
    """Every campaign's idle test on the platform, as a fresh (idle) feedback sees it."""

    def __init__(self, fleet, endpoints: list[str]) -> None:
        ends: dict[tuple[float, float], tuple[int, object]] = {}
        for world, offset in zip(fleet.worlds, fleet.offsets, strict=True):
            overload, room = world.scenario.behaviour.overload, world.scenario.failures.waiting_room
            key = (float(overload.abandon_after_s), float(room.admit_utilisation) if room else 0.0)
            end = offset + world.profile.window_minutes
            ends[key] = (max(end, ends[key][0]) if key in ends else end, room)
        platform = fleet.worlds[0].platform
        self.tests = [(Feedback(platform, endpoints, patience, room), end)
                      for (patience, _admit), (end, room) in ends.items()]

    def idle(self, minute: int, rates: list[float]) -> bool:
        """Whether the platform stays idle under these rates (per endpoint, then Gbps) for
        every campaign whose window is open at ``minute`` (and after it, for a block's)."""
        return all(feedback.stays_idle(rates[:-1], rates[-1])
                   for feedback, end in self.tests if minute < end)


BLOCK = 64  # minutes certified at once


class Record:
    """A process's shards' rates every minute it ran apart, and the minutes it certified."""

    def __init__(self, window: int, shards: int, width: int) -> None:
        self.rows = np.zeros((window, shards, width))
        self.certified = np.zeros(window, dtype=bool)
        self.upto = 0  # minutes recorded
        self.window = window

    def see(self, minute: int, rows: np.ndarray, checks: Checks, processes: int) -> int | None:
        """Record a minute; at the end of a block (or of the window), certify the block: the
        first minute at which the platform is surely not idle (our rates alone), else None."""
        self.rows[minute] = rows
        self.upto = minute + 1
        if self.upto % BLOCK and self.upto < self.window:
            return None
        first = (minute // BLOCK) * BLOCK
        own = self.rows[first:self.upto].sum(axis=1)
        if checks.idle(first, (own.max(axis=0) * processes).tolist()):  # the whole block at once
            self.certified[first:self.upto] = True
            return None
        for m, rates in enumerate(own.tolist(), start=first):
            if checks.idle(m, [r * processes for r in rates]):
                self.certified[m] = True
            elif not checks.idle(m, rates):
                return m
        return None


def add(parts: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    """The platform's rates from every process's rows (in process order), added in shard order."""
    return np.concatenate(parts)[order].sum(axis=0)


def first_busy(records: list[Record], order: np.ndarray, checks: Checks, limit: int) -> int | None:
    """The first minute before ``limit`` at which the sum of the recorded rates is not idle."""
    upto = min(limit, *(r.upto for r in records))
    certified = np.logical_and.reduce([r.certified[:upto] for r in records])
    for minute in np.flatnonzero(~certified).tolist():
        if not checks.idle(minute, add([r.rows[minute] for r in records], order).tolist()):
            return minute
    return None if upto == limit else upto
