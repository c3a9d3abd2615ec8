"""Steps and holds made by hand for the knee's tests (test_knee.py, test_confirm.py): 10-s windows
at a rate, a staircase step and a hold that carry them."""

from __future__ import annotations

from calibrate.knee import StepResult, Window

SLO, ERRORS = 300.0, 0.01


def windows(*p95s: float, rps: float = 100.0, failures: int = 0) -> tuple[Window, ...]:
    return tuple(Window(10.0 * (i + 1), 10.0, int(rps * 10), failures, p) for i, p in enumerate(p95s))


def stair(name: str, whole_p95: float, *p95s: float, rps: float = 100.0) -> StepResult:
    return StepResult(name, rps, rps * 0.7, whole_p95, 0.0, True, True, windows(*p95s, rps=rps), None, 12.0)


def hold(name: str, whole_p95: float, *p95s: float, rps: float = 100.0, settle: float = 40.0) -> StepResult:
    return StepResult(name, rps, rps * 0.9, whole_p95, 0.0, True, True, windows(*p95s, rps=rps), settle, 12.0)
