"""Random streams: one ``numpy.random.Generator`` per concern, seeded from the run's seed.

Separate streams keep a change in one part of the model (say, test attempts) from shifting
every other random number. Each stream's own 64-bit seed is recorded in ``summary.json`` so
any stream can be reproduced on its own with ``numpy.random.default_rng(seed)``.

Scalar draws from a Generator cost about a microsecond each, so the teacher processes take
values from pre-drawn blocks (``Draws``); the order of consumption is fixed by the
simulation's event order, which SimPy makes deterministic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# new streams go last: SeedSequence.spawn keeps the earlier children, so old seeds stay
STREAMS = ("population", "sessions", "registration", "tests", "overload", "background", "failures")
BLOCK = 16384


def stream_seeds(seed: int) -> dict[str, int]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: int(child.generate_state(1, np.uint64)[0])
            for name, child in zip(STREAMS, children, strict=True)}


SHARED_STREAMS = ("population", "background")  # drawn once per run, by the first shard


def shard_seeds(seed: int, shard: int, shards: int) -> dict[str, int]:
    """Seeds of one shard's streams. A run of one shard uses the run's own streams; with
    several, each shard's teacher streams come from ``SeedSequence([seed, shard + 1])`` and
    the population and background streams stay the run's."""
    seeds = stream_seeds(seed)
    if shards == 1:
        return seeds
    own = np.random.SeedSequence([seed, shard + 1]).spawn(len(STREAMS))
    for name, child in zip(STREAMS, own, strict=True):
        if name not in SHARED_STREAMS:
            seeds[name] = int(child.generate_state(1, np.uint64)[0])
    return seeds


def generators(seeds: dict[str, int]) -> dict[str, np.random.Generator]:
    return {name: np.random.default_rng(value) for name, value in seeds.items()}


class Draws:
    """Next value of one distribution, taken from blocks drawn ``BLOCK`` at a time."""

    __slots__ = ("_sampler", "_buffer", "_next")

    def __init__(self, sampler: Callable[[int], np.ndarray]) -> None:
        self._sampler = sampler
        self._buffer: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        i = self._next
        if i >= len(self._buffer):
            self._buffer = np.asarray(self._sampler(BLOCK), dtype=np.float64).tolist()
            i = 0
        self._next = i + 1
        return self._buffer[i]


def uniform(rng: np.random.Generator) -> Draws:
    return Draws(rng.random)


def of(distribution, rng: np.random.Generator) -> Draws:
    """Draws from a scenario distribution (domain.distributions)."""
    return Draws(lambda n: distribution.sample(rng, n))
