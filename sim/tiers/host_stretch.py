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
