"""The campaign rules turned into lookup tables, indexed by course slot.

The rules live in ``domain.campaign`` only. Completion and credit depend on which courses a
teacher has *credited* (test passed and minimum study reached), so they are functions of a
bit pattern over the courses; we ask ``Campaign`` once per pattern (2**courses calls) and
look the answers up for millions of teachers. Per-attempt full-marks probabilities and the
test unlock come from ``Campaign`` too. The model, the seeder and the load tests share them.
"""

from __future__ import annotations

import numpy as np

from domain.campaign import Campaign, CourseProgress

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
