"""Evaluate thresholds on a metrics map and compare two metrics maps for regressions."""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.thresholds import Threshold, ThresholdError, metric_direction, parse_threshold


class GateError(ValueError):
    """Input the gate cannot judge (an unknown metric, a bad limit); str() is one line."""


@dataclass(frozen=True)
class Outcome:
    threshold: Threshold
    actual: float | None  # None: skipped, the results have no such metric (--allow-missing)
    passed: bool

    @property
    def skipped(self) -> bool:
        return self.actual is None


@dataclass(frozen=True)
class Regression:
    metric: str
    baseline: float
    current: float
    change: float  # relative, signed so that > 0 is worse; inf when worse from a zero baseline
    regressed: bool


def parse_all(texts: list[str], source: str = "thresholds") -> list[Threshold]:
    """Parse a scenario's threshold list; errors name ``thresholds[i]`` and the text."""
    parsed = []
    for i, text in enumerate(texts):
        try:
            parsed.append(parse_threshold(text))
        except ThresholdError as exc:
            raise GateError(f"{source}[{i}] {text!r}: {exc}") from None
    return parsed


def _number(metrics: dict, key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def evaluate(thresholds: list[Threshold], metrics: dict, allow_missing: bool = False) -> list[Outcome]:
    """One outcome per threshold; an unknown metric is a GateError unless ``allow_missing``
    (then the threshold is skipped: one scenario's list may cover model and load-test
    metrics); a non-numeric one always is."""
    outcomes = []
    for i, threshold in enumerate(thresholds):
        if threshold.metric not in metrics and allow_missing:
            outcomes.append(Outcome(threshold, None, True))
            continue
        if threshold.metric not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise GateError(
                f"thresholds[{i}] {threshold.text!r}: no metric {threshold.metric!r} in the results "
                f"(known: {known})"
            )
        actual = _number(metrics, threshold.metric)
        if actual is None or math.isnan(actual):
            raise GateError(
                f"thresholds[{i}] {threshold.text!r}: metric {threshold.metric!r} is not a number "
                f"({metrics[threshold.metric]!r})"
            )
        outcomes.append(Outcome(threshold, actual, threshold.holds(actual)))
    return outcomes


def compare(current: dict, baseline: dict, max_regression: float) -> list[Regression]:
    """Every numeric metric present in both maps whose function has a direction
    (domain.thresholds.FUNCTIONS, pNN): a regression is a move in the worse direction by more than
    ``max_regression`` (a fraction) of the baseline value."""
    results = []
    for metric in sorted(set(current) & set(baseline)):
        sign = metric_direction(metric)
        now, before = _number(current, metric), _number(baseline, metric)
        if sign is None or now is None or before is None or math.isnan(now) or math.isnan(before):
            continue
        worse_by = sign * (now - before) + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
        if before != 0:
            change = worse_by / abs(before)
        else:
            change = math.inf if worse_by > 0 else (-math.inf if worse_by < 0 else 0.0)
        results.append(Regression(metric, before, now, change, change > max_regression))
    return results


def parse_fraction(text: str) -> float:
    """'10%' -> 0.1, '0.1' -> 0.1; for --max-regression."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise GateError(f"--max-regression: expected a percentage like 10% (got {text!r})") from None
    if not math.isfinite(value) or value < 0:
        raise GateError(f"--max-regression: must be a non-negative percentage (got {text!r})")
    return value
