"""A test paper as a replayed teacher answers it: every answer right (the answers file's, by
question id) for full marks, else one wrong; and the attempt's time from the scenario."""

from __future__ import annotations

import numpy as np


def answers(paper: dict, key: dict[str, int], full: bool, rng: np.random.Generator) -> dict[str, int]:
    """All correct (from answers.json, by question id) for full marks, else one wrong answer."""
    questions = paper.get("questions") or []
    out = {str(q["id"]): key.get(str(q["id"]), 0) for q in questions}
    if not full and questions:
        q = questions[int(rng.integers(len(questions)))]
        choices = max(2, len(q.get("choices") or ()))
        out[str(q["id"])] = (out[str(q["id"])] + 1) % choices
    return out


def attempt_minutes(scenario, cid: int) -> float:
    """The scenario's time for one attempt at course ``cid``'s test."""
    return next(c.test.attempt_minutes for c in scenario.courses if c.id == cid)
