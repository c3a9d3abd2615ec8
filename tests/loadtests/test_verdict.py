"""The verdict's rules on their own: each broken case makes a run not trustworthy, by name."""

from __future__ import annotations

import pytest

from loadtests.verdict import DEFAULT_MAX_ERROR_RATE, SessionHealth, error_limit, exception_health, judge

CLEAN = dict(within=True, max_bin_error=0.02, dropped=0, saturated=False, health=SessionHealth(),
             error_rate=0.0, requests=100, thresholds=["rate(errors) < 1%"])


def verdict(**changes):
    return judge(**{**CLEAN, **changes})


def test_a_clean_run_is_trustworthy():
    assert verdict().trustworthy and verdict().reasons == [] and verdict().line == "trustworthy"


@pytest.mark.parametrize("changes, words", [
    ({"within": False, "max_bin_error": 0.4}, "off the plan by 40%"),
    ({"dropped": 3}, "3 arrivals dropped"),
    ({"saturated": True}, "CPU above 90%"),
    ({"health": SessionHealth(exceptions=131, top_exception="'teacher_id'")}, "131 Locust exceptions"),
    ({"health": SessionHealth(idle_sessions=4)}, "4 sessions ended without a request"),
    ({"health": SessionHealth(no_account={"admin": 7})}, "7 admin arrivals found no account"),
    ({"health": SessionHealth(untasked={"admin": 2})}, "2 admin arrivals not started"),
    ({"error_rate": 1.0}, "error rate 100.00% breaches rate(errors) < 1%"),
    ({"error_rate": 0.01}, "breaches"),  # at the limit of a strict "<"
])
def test_each_broken_case_is_named(changes, words):
    result = verdict(**changes)
    assert not result.trustworthy and len(result.reasons) == 1 and words in result.reasons[0]
    assert result.line.startswith("NOT trustworthy: ") and "\n" not in result.line


def test_error_limit_is_the_scenarios_tightest_or_the_default():
    assert error_limit(["p95(latency.api) < 300ms", "rate(errors) < 5%", "rate(errors) < 2%"])[0] == 0.02
    default = (DEFAULT_MAX_ERROR_RATE, "rate(errors) < 1% (default)")
    assert error_limit(["p95(latency.api) < 300ms"]) == default
    assert verdict(error_rate=0.04, thresholds=["rate(errors) < 5%"]).trustworthy


def test_no_requests_no_error_verdict_but_exceptions_still_count():
    assert verdict(requests=0, error_rate=0.0).trustworthy
    assert exception_health({}) == (0, "")
    rows = {1: {"count": 3, "msg": "KeyError 'x'"}, 2: {"count": 9, "msg": "No tasks defined"}}
    assert exception_health(rows) == (12, "No tasks defined")
