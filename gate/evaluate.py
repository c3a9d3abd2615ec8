"""Evaluate thresholds on a metrics map and compare two metrics maps for regressions."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.thresholds import Threshold, ThresholdError, metric_direction, parse_threshold
from records.model import Range, Slo


class GateError(ValueError):
    """Input the gate cannot judge (an unknown metric, a bad limit); str() is one line."""


# The ends of a range (``yanxiu run --ranges``: a 90% interval p05..p95 over posterior draws)
# a threshold must hold at: an upper limit at the high end, a lower limit at the low end, an
# equality (or its negation) at both. For < <= > >= holding there means holding over the whole
# interval, so a limit is met only when the unfavourable 5% of draws still meets it.
ENDS: dict[str, tuple[str, ...]] = {"<": ("p95",), "<=": ("p95",), ">": ("p05",), ">=": ("p05",),
                                    "==": ("p05", "p95"), "!=": ("p05", "p95")}


@dataclass(frozen=True)
class Outcome:
    threshold: Threshold
    actual: float | None  # None: skipped, the results have no such metric (--allow-missing)
    passed: bool
    # judged on a range: the range, and the end the verdict rests on (``actual`` is its value:
    # the first end that fails, else the last one checked)
    range: Range | None = None
    judged_at: str = ""

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
    # Half-width of the combined 95% replication intervals, in the metric's units: a move
    # smaller than this is seed noise. None when either run has no interval for the metric.
    noise: float | None = None

    @property
    def within_noise(self) -> bool:
        return self.noise is not None and abs(self.current - self.baseline) <= self.noise

    @property
    def improved(self) -> bool:
        return self.change < 0 and not self.within_noise

    def describe(self) -> str:
        """'worse by +30.0%', 'better by 15.4%', 'within noise (±2.1)' or 'unchanged'."""
        if self.change == 0:
            return "unchanged"
        if self.within_noise:
            return f"within seed noise (±{self.noise:.3g})"
        direction = "worse" if self.change > 0 else "better"
        return f"{direction} by {abs(self.change):.1%}"


@dataclass(frozen=True)
class SloOutcome:
    """A tier's service level as the run judged it (summary.json ``slo``): the gate fails on a
    missed one, so MISSED in the report and a failing gate say the same thing."""

    tier: str
    compliant: bool
    detail: str

    @property
    def name(self) -> str:
        return f"slo({self.tier})"


def parse_all(texts: Sequence[str], source: str = "thresholds") -> list[Threshold]:
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


def evaluate(thresholds: list[Threshold], metrics: dict, allow_missing: bool = False,
             ranges: Mapping[str, Range] | None = None) -> list[Outcome]:
    """One outcome per threshold; an unknown metric is a GateError unless ``allow_missing``
    (then the threshold is skipped: one scenario's list may cover model and load-test
    metrics); a non-numeric one always is. A metric with a range (summary.json ``ranges``) is
    judged at the range's end that matters (``ENDS``), not at its central value."""
    outcomes = []
    for i, threshold in enumerate(thresholds):
        if ranges and threshold.metric in ranges:
            outcomes.append(_on_range(i, threshold, ranges[threshold.metric]))
            continue
        if threshold.metric not in metrics and allow_missing:
            outcomes.append(Outcome(threshold, None, True))
            continue
        if threshold.metric not in metrics:
            raise GateError(f"thresholds[{i}] {threshold.text!r}: no metric {threshold.metric!r} in the "
                            f"results ({_known(threshold.metric, metrics)})")
        actual = _number(metrics, threshold.metric)
        if actual is None or math.isnan(actual):
            raise GateError(
                f"thresholds[{i}] {threshold.text!r}: metric {threshold.metric!r} is not a number "
                f"({metrics[threshold.metric]!r})"
            )
        outcomes.append(Outcome(threshold, actual, threshold.holds(actual)))
    return outcomes


def _on_range(i: int, threshold: Threshold, figure: Range) -> Outcome:
    ends = ENDS[threshold.op]
    values = {"p05": float(figure.p05), "p95": float(figure.p95)}
    if any(math.isnan(values[end]) for end in ends):
        raise GateError(f"thresholds[{i}] {threshold.text!r}: the range of {threshold.metric!r} is "
                        "not a number")
    failing = [end for end in ends if not threshold.holds(values[end])]
    end = failing[0] if failing else ends[-1]
    return Outcome(threshold, values[end], not failing, figure, " and ".join(ends))


Intervals = dict[str, list]  # metric -> [lo, hi]: summary.json replications.ci95


def _interval(intervals: Intervals | None, metric: str) -> tuple[float, float] | None:
    """(mean, half-width) of a replication interval (Student-t, so symmetric about the mean)."""
    pair = (intervals or {}).get(metric)
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None
    lo, hi = (_number({"v": v}, "v") for v in pair)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return (lo + hi) / 2, (hi - lo) / 2


def _known(metric: str, metrics: dict) -> str:
    """A short hint (the closest names), not the whole map: a results file has dozens."""
    close = difflib.get_close_matches(metric, sorted(metrics), n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return f"{len(metrics)} metrics in summary.json, none like it"


def compare(current: dict, baseline: dict, max_regression: float,
            current_ci: Intervals | None = None, baseline_ci: Intervals | None = None) -> list[Regression]:
    """Every numeric metric present in both maps whose function has a direction
    (domain.thresholds.FUNCTIONS, pNN). A regression is a move in the worse direction by more than
    ``max_regression`` (a fraction) of the baseline value and, when both runs have replication
    intervals for the metric, by more than their combined half-width sqrt(h1² + h2²) (then the
    replication means are compared): a change of seed alone moves figures within that."""
    results = []
    for metric in sorted(set(current) & set(baseline)):
        sign = metric_direction(metric)
        now, before = _number(current, metric), _number(baseline, metric)
        if sign is None or now is None or before is None or math.isnan(now) or math.isnan(before):
            continue
        noise = None
        spread_now, spread_before = _interval(current_ci, metric), _interval(baseline_ci, metric)
        if spread_now is not None and spread_before is not None:
            (now, half_now), (before, half_before) = spread_now, spread_before
            noise = math.hypot(half_now, half_before)
        worse_by = sign * (now - before) + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
        if before != 0:
            change = worse_by / abs(before)
        else:
            change = math.inf if worse_by > 0 else (-math.inf if worse_by < 0 else 0.0)
        regressed = change > max_regression and (noise is None or worse_by > noise)
        results.append(Regression(metric, before, now, change, regressed, noise))
    return results


def slo_outcomes(slo: Mapping[str, Slo]) -> list[SloOutcome]:
    """One outcome per tier of summary.json ``slo``: met when every judged minute met every
    latency target and the peak utilisation stayed within its cap (sim.tiers.sizing)."""
    return [SloOutcome(tier, record.compliant, _slo_detail(record)) for tier, record in sorted(slo.items())]


def _slo_detail(record: Slo) -> str:
    parts = []
    share, judged = record.compliant_minutes_share, record.judged_minutes
    if judged == 0:
        parts.append("no minute busy enough to judge latency (every one under 1 request/s)")
    else:
        of = f" of {judged:,.0f} judged minutes" if judged is not None else " of judged minutes"
        parts.append(f"{share:.2%}{of} within target")
    worst, target = record.worst_minute_p95_ms, record.target_p95_ms
    if worst is not None and target is not None and judged != 0:
        parts.append(f"worst-minute p95 {worst:.4g} ms vs {target:.4g} ms")
    peak, cap = record.max_utilisation, record.target_max_utilisation
    if peak is not None and cap is not None:
        parts.append(f"peak utilisation {peak:.2g} vs cap {cap:.2g}")
    return "; ".join(parts)


def parse_fraction(text: str) -> float:
    """'10%' -> 0.1, '0.1' -> 0.1; for --max-regression. A bare number of 1 or more ('10') is
    refused: it could mean 10% or 1000%, and guessing wrong silently loosens the gate."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1]) / 100 if percent else float(raw)
    except ValueError:
        raise GateError(f"--max-regression: expected a percentage like 10% or a fraction like 0.10 "
                        f"(got {text!r})") from None
    if not math.isfinite(value) or value < 0:
        raise GateError(f"--max-regression: must be a non-negative percentage (got {text!r})")
    if not percent and value >= 1:
        raise GateError(f"--max-regression: {text!r} is ambiguous; write {raw}% or {value / 100:g} "
                        f"for {raw}%")
    return value
