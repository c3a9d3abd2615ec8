"""Teachers' study progress as arrays, and the campaign rules turned into lookup tables.

The rules live in ``sim.campaign`` only. Completion and credit depend on which courses a
teacher has *credited* (test passed and minimum study reached), so they are functions of a
bit pattern over the courses; we ask ``Campaign`` once per pattern (2**courses calls) and
look the answers up for millions of teachers. Per-attempt full-marks probabilities and the
test unlock come from ``Campaign`` too.
"""

from __future__ import annotations

import math

import numpy as np

from sim.campaign import Campaign, CourseProgress

MAX_COURSES_FOR_TABLES = 16


class RuleTables:
    """Numbers and pattern tables derived from the campaign rules, indexed by course slot."""

    def __init__(self, campaign: Campaign, scenario) -> None:
        self.campaign = campaign
        self.course_ids = list(campaign.course_ids())
        n = len(self.course_ids)
        if n > MAX_COURSES_FOR_TABLES:
            raise ValueError(f"courses: at most {MAX_COURSES_FOR_TABLES} courses are supported")
        rules = [campaign.rule(cid) for cid in self.course_ids]
        self.opens_s = [campaign.offset(r.opens_at) for r in rules]
        self.min_study_s = [r.min_study_s for r in rules]
        self.unlock_s = [r.test_unlock_s for r in rules]
        # a teacher studies until the test unlocks and the credit minimum is reached
        self.target_s = [max(r.min_study_s, r.test_unlock_s) for r in rules]
        self.full_marks = [self._attempt_table(cid) for cid in self.course_ids]
        by_id = {c.id: c for c in scenario.courses}
        self.attempt_s = [by_id[cid].test.attempt_minutes * 60.0 for cid in self.course_ids]
        self.durations = [[float(r.duration_s) for r in by_id[cid].resources]
                          for cid in self.course_ids]
        patterns = range(1 << n)
        self.complete = np.array([campaign.is_complete(self._progress(p)) for p in patterns])
        self.credit = np.array([[campaign.credit_by_course(self._progress(p))[cid]
                                 for cid in self.course_ids] for p in patterns])
        self.required_study_s = float(sum(self.target_s))

    def _attempt_table(self, cid: int) -> list[float]:
        probs = self.campaign.rule(cid).full_marks_probability
        return [self.campaign.full_marks_probability(cid, a) for a in range(1, len(probs) + 1)]

    def _progress(self, pattern: int) -> dict[int, CourseProgress]:
        out = {}
        for slot, cid in enumerate(self.course_ids):
            if pattern >> slot & 1:
                out[cid] = CourseProgress(studied_s=self.min_study_s[slot], test_passed=True)
        return out

    def full_marks_probability(self, slot: int, attempt: int) -> float:
        table = self.full_marks[slot]
        return table[min(attempt, len(table)) - 1]


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
