"""The threshold language: every documented form parses to base units; bad ones say why."""

from __future__ import annotations

import pytest

from domain.thresholds import ThresholdError, direction, format_value, parse_threshold


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("p95(latency.api) < 300ms", "p95(latency.api)", "<", 300.0),
        ("p99(latency.all)<=1.5s", "p99(latency.all)", "<=", 1500.0),
        ("p95( latency.api ) < 300 ms", "p95(latency.api)", "<", 300.0),
        ("peak(sms_per_s) < 2000", "peak(sms_per_s)", "<", 2000.0),
        ("peak(sms_per_s) < 2k/s", "peak(sms_per_s)", "<", 2000.0),
        ("peak(viewers) >= 1.5M", "peak(viewers)", ">=", 1.5e6),
        ("peak(rps.total) > 12k", "peak(rps.total)", ">", 12000.0),
        ("share(certified) > 0.95", "share(certified)", ">", 0.95),
        ("share(certified) > 95%", "share(certified)", ">", 0.95),
        ("rate(errors) < 1%", "rate(errors)", "<", 0.01),
        ("peak(egress_gbps) < 500Mbps", "peak(egress_gbps)", "<", 0.5),
        ("peak(egress_gbps) < 3Gbps", "peak(egress_gbps)", "<", 3.0),
        ("max(utilisation.api) != 1", "max(utilisation.api)", "!=", 1.0),
        ("mean(rps.total) == 2.5e2", "mean(rps.total)", "==", 250.0),
    ],
)
def test_forms_parse_to_base_units(text, metric, op, value):
    t = parse_threshold(text)
    assert (t.metric, t.op) == (metric, op)
    assert t.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty threshold"),
        ("p95 latency < 1", "expected fn(metric)"),
        ("p95(latency.api < 1", "missing ')'"),
        ("p95(lat ency) < 1", "bad metric name 'lat ency'"),
        ("p95() < 1", "bad metric name ''"),
        ("foo(x) < 1", "unknown function 'foo'"),
        ("p100(latency.api) < 1ms", "between p0 and p100"),
        ("p95(latency.api) 300ms", "expected an operator"),
        ("p95(latency.api) =< 300ms", "unexpected character '=' at column 18"),
        ("p95(latency.api) <", "expected a number"),
        ("p95(latency.api) < 3xs", "unknown unit 'xs'"),
        ("p95(latency.api) < 3 m s", "unknown unit 'm s'"),
        ("p95(latency.api) < 3%", "latency: use ms or s"),
        ("share(certified) > 3ms", "does not fit"),
        ("rate(errors) < 1Gbps", "does not fit"),
        ("p95(latency.api) < 1 < 2", "only one comparison"),
        ("peak(x) < 1 $", "unexpected character '$' at column 13"),
    ],
)
def test_malformed_thresholds_say_what_is_wrong(text, message):
    with pytest.raises(ThresholdError) as info:
        parse_threshold(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_operators_compare_as_written():
    assert parse_threshold("rate(errors) < 1%").holds(0.009)
    assert not parse_threshold("rate(errors) < 1%").holds(0.01)
    assert parse_threshold("rate(errors) <= 1%").holds(0.01)
    assert parse_threshold("share(certified) >= 95%").holds(0.95)
    assert not parse_threshold("share(certified) > 95%").holds(0.95)
    assert parse_threshold("mean(x) == 0.3").holds(0.1 + 0.2)  # float noise is not a breach
    assert not parse_threshold("mean(x) != 0.3").holds(0.1 + 0.2)


def test_directions_say_which_way_is_worse():
    assert direction("p95") == direction("p99.9") == direction("peak") == direction("rate") == +1
    assert direction("share") == -1
    assert direction("unknownfn") is None


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [(123.4, "ms", "123.4ms"), (1500.0, "s", "1.5s"), (0.0123, "%", "1.23%"), (0.5, "Mbps", "500Mbps"),
     (2500.0, "k/s", "2.5k/s"), (0.93, "", "0.93")],
)
def test_values_print_in_the_thresholds_unit(value, unit, shown):
    assert format_value(value, unit) == shown
