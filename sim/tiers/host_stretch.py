"""How a host's busy cores stretch a demand measured as wall time (a writer's transaction).

A writer thread's transaction (PostgreSQL: ``sim.tiers.writer``) and SQLite's group commit on
an event loop are measured as **wall time**: their CPU (the writer's Python, the database
backend's, the loop's) runs on the host's cores beside everything else that runs there (the
api workers, the database server, the load generator, other work), and each round trip wakes a
process that must get a core. On a 2-core host the same transaction took 1.38 ms a job in the
calibration's quiet steps and 3.8 ms at 110% of the knee (PostgreSQL, 2026-11-30 23:42), and a
SQLite write 0.67 -> 1.0 ms from 30 to 85% (docs/calibration.md).

The host's scheduler time-shares its ``c`` cores fairly among the runnable processes, none
getting more than a core: limited processor sharing on c servers. That is a symmetric queue
(Kelly): the number present is M/M/c's whatever the sizes, so a piece of work's mean response
over its size (its **stretch**) at a mean busy share ``rho`` of the cores is M/M/c's mean
response over the mean service::

    stretch(rho) = 1 + C(c, c·rho) / (c · (1 - rho))        (Erlang C)

1 on an idle host, 1 / (1 - rho) on one core, 1 / (1 - rho²) on two. A demand whose wall time
``w`` was measured while the host was busy ``rho_cal`` then lasts, at ``rho``, its
``cpu_share`` stretched and the rest as it was::

    w(rho) = w · (1 - share + share · stretch(rho) / stretch(rho_cal))

with ``share`` the part of ``w`` that queues for the cores (at most 1). It is the constant
demand when the host is as busy as at the calibration, and below it on a quieter host. ``rho``
is capped at ``MAX_BUSY``: a host whose cores are all busy has no stationary run queue, and
its stretch is set by how long the busy spell lasts, which a mean per bin does not say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from sim.tiers.queueing import erlang_c

MAX_BUSY = 0.95  # the busiest share of the cores a stretch is computed at


def stretch(busy: ArrayLike, cores: float) -> np.ndarray:
    """Mean response over size of work on ``cores`` shared fairly while ``busy`` cores (mean,
    of all the host's processes) are busy: 1 + C(c, busy) / (c - busy); ``busy`` capped at
    MAX_BUSY of the cores."""
    c = float(cores)
    if c <= 0:
        raise ValueError(f"cores: {cores} (must be > 0)")
    load = np.clip(np.asarray(busy, float), 0.0, MAX_BUSY * c)
    out: np.ndarray = 1.0 + erlang_c(round(c), load) / (c - load)
    return out


def relative(busy: ArrayLike, cores: float, reference: float, share: float = 1.0) -> np.ndarray:
    """The factor on a wall-time demand measured while ``reference`` cores were busy, at
    ``busy`` cores: ``1 - share + share · stretch(busy) / stretch(reference)``."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share: {share} (must be within [0, 1])")
    ratio = stretch(busy, cores) / stretch(reference, cores)
    out: np.ndarray = 1.0 - share + share * ratio
    return out


@dataclass(frozen=True)
class WallStretch:
    """A wall-time demand's calibration: the host's busy cores while it was measured (server,
    database, load generator, other work) and the share of it that queues for the cores."""

    reference_cores: float
    share: float = 1.0

    def factor(self, busy: ArrayLike, cores: float) -> np.ndarray:
        """Per value of ``busy`` (cores): the factor on the calibrated wall time (``relative``)."""
        return relative(busy, cores, self.reference_cores, self.share)


def busy_per_bin(arrivals: np.ndarray, cpu: np.ndarray, background: np.ndarray, bin_s: float) -> np.ndarray:
    """The host's busy cores per bin: the CPU seconds of the requests that arrived in it over
    the bin's length, plus the bin's ``background`` (cores of everything else, measured)."""
    level = np.asarray(background, float)
    size = max(level.size, 1)
    bins = np.clip((np.asarray(arrivals) // bin_s).astype(int), 0, size - 1)
    own = np.bincount(bins, weights=np.asarray(cpu, float), minlength=size) / bin_s
    return own + (level if level.size else 0.0)


# the least factor a CPU demand that falls with load is given (a law fitted with k < 0 read far
# outside its steps' range would otherwise go to 0 or below)
LEAST_FACTOR = 0.25


@dataclass(frozen=True)
class CpuGrowth:
    """A CPU demand that moves with the host's busy cores ``x`` (every process's, the tier's own
    included): ``D(x) = D0 · (1 + per_core · (x - reference_cores))``, with ``D0`` the calibrated
    demand and ``reference_cores`` the busy cores it was measured at (``calibrate.cpu_growth``:
    the mean over the calibration's bins, weighted by their CPU). ``per_core`` 0: the constant
    demand, exactly. Contention for the cores, caches and the memory bus would raise it; a loop's
    fixed costs shared by more requests per turn would lower it (docs/calibration-log.md)."""

    per_core: float
    reference_cores: float

    def factor(self, busy: ArrayLike) -> np.ndarray:
        """Per value of ``busy`` (cores): the factor on the calibrated demand, at least
        ``LEAST_FACTOR``."""
        out: np.ndarray = np.maximum(1.0 + self.per_core * (np.asarray(busy, float) - self.reference_cores),
                                     LEAST_FACTOR)
        return out

    def settle(self, own: ArrayLike, background: ArrayLike, cores: float) -> np.ndarray:
        """The host's busy cores per bin where the tier's own CPU follows the law: the fixed point
        of ``x = background + own · factor(x)`` (``own``: the tier's cores per bin at the calibrated
        demands), solved exactly (the law is linear: ``x = (b + own·(1 - k·ref)) / (1 - k·own)``)
        and capped at the host's ``cores`` (a host busier than its cores is all busy; its queue
        grows instead). Where the factor would fall below ``LEAST_FACTOR``, the floor's."""
        own_c, level = np.asarray(own, float), np.asarray(background, float)
        k, ref = self.per_core, self.reference_cores
        denominator = 1.0 - k * own_c
        with np.errstate(divide="ignore", invalid="ignore"):
            linear = np.where(denominator > 0, (level + own_c * (1.0 - k * ref)) / denominator, np.inf)
        floored = level + own_c * LEAST_FACTOR
        linear = np.where(1.0 + k * (linear - ref) < LEAST_FACTOR, floored, linear)
        out: np.ndarray = np.clip(linear, 0.0, float(cores))
        return out


def grown(service: np.ndarray, arrivals: np.ndarray, growth: CpuGrowth, background: ArrayLike, cores: float,
          bin_s: float) -> np.ndarray:
    """Each request's CPU ``service`` (its tier's, arrivals sorted or not) times the law's factor
    at its bin's busy cores, settled with the tier's own CPU per bin (``busy_per_bin`` less the
    background) and the ``background`` per bin (none: 0 cores of other work)."""
    times = np.asarray(arrivals, float)
    level = np.asarray(background, float)
    if not level.size:  # no other work: as many bins as the arrivals span
        level = np.zeros(int(times.max() // bin_s) + 1 if times.size else 1)
    own = busy_per_bin(times, service, level, bin_s) - level
    factor = growth.factor(growth.settle(own, level, cores))
    bins = np.clip((times // bin_s).astype(int), 0, level.size - 1)
    out: np.ndarray = np.asarray(service, float) * factor[bins]
    return out
