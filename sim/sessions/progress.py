"""Teachers' study progress as arrays (rows are simulated teachers, columns course slots).

The rule tables these arrays are read through are ``domain.rules.RuleTables``.
"""

from __future__ import annotations

import math

import numpy as np

from domain.rules import RuleTables


class Progress:
    """Per-teacher state; rows are simulated teachers, columns course slots."""

    def __init__(self, n: int, courses: int) -> None:
        self.studied = np.zeros((n, courses))
        self.attempts = np.zeros((n, courses), dtype=np.int16)
        self.next_resource = np.zeros((n, courses), dtype=np.int32)
        self.passed_at = np.full((n, courses), np.inf)
        self.min_reached_at = np.full((n, courses), np.inf)
        self.credited = np.zeros(n, dtype=np.int32)  # bit pattern of credited courses
        self.registered_at = np.full(n, np.inf)
        self.first_study_at = np.full(n, np.inf)
        self.last_day = np.full(n, -1, dtype=np.int32)

    @classmethod
    def gather(cls, parts: list[Progress], rows: list[np.ndarray], n: int) -> Progress:
        """One run's progress from its shards' (``parts[k]`` holds teachers ``rows[k]``)."""
        out = cls(n, parts[0].studied.shape[1])
        for name, column in vars(out).items():
            for part, index in zip(parts, rows, strict=True):
                column[index] = getattr(part, name)
        return out

    def credit_times(self) -> np.ndarray:
        """When each course earned its credit (test passed and minimum study), inf if never."""
        return np.maximum(self.passed_at, self.min_reached_at)

    def patterns_at(self, t: float) -> np.ndarray:
        """Each teacher's credited-course bit pattern at offset ``t``."""
        bits = self.credit_times() <= t
        weights = 1 << np.arange(bits.shape[1])
        return (bits * weights).sum(axis=1)

    def completed_at(self, tables: RuleTables) -> np.ndarray:
        """First instant at which each teacher's credited set satisfies the rules."""
        times = self.credit_times()
        order = np.sort(times, axis=1)
        done = np.full(times.shape[0], np.inf)
        for k in range(times.shape[1]):
            t = order[:, k]
            bits = (times <= t[:, None]) * (1 << np.arange(times.shape[1]))
            ok = tables.complete[bits.sum(axis=1)] & np.isfinite(t) & ~np.isfinite(done)
            done[ok] = t[ok]
        return done


class Ledger:
    """``Progress`` while the simulation runs: flat Python lists (row ``tid * courses + slot``).

    The session code reads and writes a teacher's numbers a few dozen times per session; a
    list item costs a third of a NumPy item and yields a Python float, whose arithmetic is
    several times cheaper than NumPy scalars'. ``to_progress`` turns it into arrays once.
    """

    def __init__(self, n: int, courses: int) -> None:
        cells = n * courses
        self.courses = courses
        self.studied = [0.0] * cells
        self.attempts = [0] * cells
        self.next_resource = [0] * cells
        self.passed_at = [math.inf] * cells
        self.min_reached_at = [math.inf] * cells
        self.credited = [0] * n  # bit pattern of credited courses
        self.registered_at = [math.inf] * n
        self.first_study_at = [math.inf] * n
        self.last_day = [-1] * n

    def to_progress(self) -> Progress:
        n, c = len(self.credited), self.courses
        out = Progress(n, c)
        out.studied = np.array(self.studied, dtype=np.float64).reshape(n, c)
        out.attempts = np.array(self.attempts, dtype=np.int16).reshape(n, c)
        out.next_resource = np.array(self.next_resource, dtype=np.int32).reshape(n, c)
        out.passed_at = np.array(self.passed_at, dtype=np.float64).reshape(n, c)
        out.min_reached_at = np.array(self.min_reached_at, dtype=np.float64).reshape(n, c)
        out.credited = np.array(self.credited, dtype=np.int32)
        out.registered_at = np.array(self.registered_at, dtype=np.float64)
        out.first_study_at = np.array(self.first_study_at, dtype=np.float64)
        out.last_day = np.array(self.last_day, dtype=np.int32)
        return out
