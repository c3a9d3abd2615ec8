"""domain/thresholds.py pinned at its boundaries, against the language as docs/report-gate.md
states it: ``fn(name) op value[unit]``, values in base units (ms, fractions, per second, Gbps),
k/M multipliers, == within a relative 1e-9, which way is worse for each function."""

from __future__ import annotations

import math

import pytest

from domain.thresholds import ThresholdError, direction, format_value, metric_direction, parse_threshold


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("p95(latency.api) < 1.5s", 1500.0, "s"),
        ("p95(latency.api) < 250ms", 250.0, "ms"),
        ("p95(latency.api) < 250", 250.0, ""),
        ("p95(latency.api) < 2kms", 2000.0, "kms"),
        ("share(certified) >= 95%", 0.95, "%"),
        ("share(certified) >= 0.95", 0.95, ""),
        ("rate(logins) < 2k/s", 2000.0, "k/s"),
        ("rate(logins) < 30/s", 30.0, "/s"),
        ("rate(errors) < 0.5%", 0.005, "%"),
        ("peak(bandwidth) < 3Mbps", 0.003, "Mbps"),
        ("peak(bandwidth) < 2Gbps", 2.0, "Gbps"),
        ("peak(rps.total) < 1.2M", 1_200_000.0, "M"),
        ("peak(rps.total) < 7k", 7000.0, "k"),
        ("mean(x) < .5", 0.5, ""),
        ("max(x) < 1e3", 1000.0, ""),
        ("min(free.api) > 0", 0.0, ""),
    ],
)
def test_values_in_base_units(text, value, unit):
    threshold = parse_threshold(text)
    assert threshold.value == value and threshold.unit == unit
    assert threshold.text == text.strip()


def test_the_left_side_is_the_metrics_key():
    threshold = parse_threshold("  p99.9(latency.api-gw:v2) <= 3s  ")
    assert (threshold.fn, threshold.name, threshold.op) == ("p99.9", "latency.api-gw:v2", "<=")
    assert threshold.metric == "p99.9(latency.api-gw:v2)"
    assert threshold.text == "p99.9(latency.api-gw:v2) <= 3s"


@pytest.mark.parametrize(
    ("op", "actual", "limit", "holds"),
    [
        ("<", 1.0, 1.0, False), ("<", 0.999, 1.0, True),
        ("<=", 1.0, 1.0, True), ("<=", 1.001, 1.0, False),
        (">", 1.0, 1.0, False), (">", 1.001, 1.0, True),
        (">=", 1.0, 1.0, True), (">=", 0.999, 1.0, False),
        ("==", 1.0 + 1e-10, 1.0, True), ("==", 1.0 + 1e-8, 1.0, False), ("==", 1.5, 1.0, False),
        ("==", 1e-13, 0.0, True), ("==", 1e-11, 0.0, False),
        ("!=", 1.0 + 1e-10, 1.0, False), ("!=", 1.0 + 1e-8, 1.0, True), ("!=", 1e-11, 0.0, True),
    ],
)
def test_operators_at_their_boundaries(op, actual, limit, holds):
    assert parse_threshold(f"peak(x) {op} {limit!r}").holds(actual) is holds


@pytest.mark.parametrize(
    ("fn", "worse"),
    [("peak", +1), ("mean", +1), ("max", +1), ("rate", +1), ("p50", +1), ("p99.9", +1),
     ("share", -1), ("min", -1), ("count", None), ("p", None), ("", None)],
)
def test_which_way_is_worse(fn, worse):
    assert direction(fn) == worse
    assert metric_direction(f"{fn}(a.b)") == worse


def test_metric_direction_reads_only_the_function():
    assert metric_direction("min(max(x))") == -1
    assert metric_direction("max") == +1  # no parenthesis: the whole key is the function


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p0(x) < 1ms", "percentile 'p0' must be between p0 and p100"),
        ("p100(x) < 1ms", "percentile 'p100' must be between p0 and p100"),
        ("p95(x) < 5%", "p95() is a latency: use ms or s, not '%'"),
        ("p95(x) < 5/s", "p95() is a latency"),
        ("share(x) > 5ms", "share() is a fraction: 'ms' does not fit"),
        ("rate(x) < 5ms", "rate() is a fraction/per_second: 'ms' does not fit"),
        ("peak(x) < 5xs", "unknown unit 'xs'"),
        ("peak(x) < 5kk", "unknown unit 'kk'"),
        ("peak(x) < 3 $", "unexpected character '$' at column 13"),
        ("$peak(x) < 3", "unexpected character '$' at column 1"),
        ("peak(x) <", "expected a number after the operator"),
        ("peak(x) < ms", "expected a number after the operator"),
        ("peak(x) 3", "expected an operator"),
        ("peak(x)", "expected an operator"),
        ("peak(x < 3", "missing ')' after peak("),
        ("peak() < 3", "bad metric name ''"),
        ("peak(a b) < 3", "bad metric name 'a b'"),
        ("peak(x) < 3 < 4", "only one comparison is allowed"),
        ("(x) < 3", "expected fn(metric) on the left"),
        ("   ", "empty threshold"),
    ],
)
def test_errors_say_what_is_wrong(text, message):
    with pytest.raises(ThresholdError) as info:
        parse_threshold(text)
    assert message in str(info.value)


def test_a_non_string_is_an_empty_threshold():
    with pytest.raises(ThresholdError, match="empty threshold"):
        parse_threshold(None)  # type: ignore[arg-type]


def test_rate_takes_a_fraction_or_a_rate_and_share_a_fraction():
    assert parse_threshold("rate(x) < 5%").value == 0.05
    assert parse_threshold("rate(x) < 5/s").value == 5.0
    assert parse_threshold("share(x) > 50%").value == 0.5
    assert parse_threshold("p50(x) < 1s").value == 1000.0
    assert parse_threshold("peak(x) < 5%").value == 0.05  # other functions take any unit


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [(1500.0, "s", "1.5s"), (0.95, "%", "95%"), (2000.0, "k/s", "2k/s"), (0.003, "Mbps", "3Mbps"),
     (12.0, "", "12"), (1_500_000.0, "M", "1.5M"), (math.inf, "ms", "inf"), (math.nan, "%", "nan"),
     (123456.0, "ms", "1.235e+05ms")],
)
def test_values_print_in_the_unit_written(value, unit, shown):
    assert format_value(value, unit) == shown


# --- prediction_error(fn(metric)): the one function that takes a metric key ----------------


def test_prediction_error_takes_a_metric_key():
    threshold = parse_threshold("prediction_error(p95(latency.heartbeat)) < 20%")
    assert threshold.metric == "prediction_error(p95(latency.heartbeat))"
    assert (threshold.fn, threshold.name) == ("prediction_error", "p95(latency.heartbeat)")
    assert threshold.value == 0.2
    assert metric_direction(threshold.metric) == +1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prediction_error(p95(x)) < 5ms", "prediction_error() is a fraction: 'ms' does not fit"),
        ("peak(p95(x)) < 3", "bad metric name 'p95(x'"),
        ("prediction_error(p95(x) < 1", "bad metric name 'p95(x'"),
        ("prediction_error(p95 x) < 1", "bad metric name 'p95 x'"),
    ],
)
def test_prediction_error_errors(text, message):
    with pytest.raises(ThresholdError) as info:
        parse_threshold(text)
    assert message in str(info.value)


def test_low_percentiles_kilo_units_and_frozen_thresholds():
    import dataclasses

    assert parse_threshold("p1(latency.api) < 5ms").fn == "p1"
    assert parse_threshold("p0.5(latency.api) < 5ms").fn == "p0.5"
    assert parse_threshold("peak(bandwidth) < 2kGbps").value == 2000.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_threshold("peak(x) < 1").value = 2.0  # type: ignore[misc]
