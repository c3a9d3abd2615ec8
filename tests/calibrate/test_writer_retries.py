"""A blocked SQLite loop's retries, from the server's yanxiu_commit_retry_seconds over the
calibration's steps (calibrate/writer.py ``retries``), into the writer tier's ``route_holds``
(retry_ms, retry_min_ms) of the platform file."""

from __future__ import annotations

import pytest

from calibrate import writer
from calibrate.fit import Row
from calibrate.probes import parse_metrics

BUCKETS = ("0.001", "0.0011", "0.0012", "0.0015", "0.002", "+Inf")
LOGINS = {"login": 10.0, "(hold_s login)": 0.08, "(holds login)": 10.0}  # 10 sign-ins holding 8 ms


def _scrape(seconds: float, within: tuple[float, ...], behind: str = "committer") -> str:
    lines = [f'yanxiu_commit_retry_seconds_bucket{{behind="{behind}",le="{le}"}} {n}'
             for le, n in zip(BUCKETS, within, strict=True)]
    return "\n".join(lines + [f'yanxiu_commit_retry_seconds_sum{{behind="{behind}"}} {seconds}',
                              f'yanxiu_commit_retry_seconds_count{{behind="{behind}"}} {within[-1]}'])


def test_the_retries_mean_and_least_come_from_the_server_s_histogram():
    """Two scrapes a bin apart: 100 retries of 0.25 s in all (2.5 ms each), 2 within 1 ms (under
    5%), 30 within 1.1 ms: the least is 1 ms; the two holders' histograms add up."""
    before = parse_metrics(_scrape(0.05, (1, 5, 6, 8, 9, 20)))
    after = parse_metrics(_scrape(0.2, (2, 25, 30, 40, 50, 80)) + "\n"
                          + _scrape(0.1, (1, 10, 11, 14, 17, 40), "route"))
    assert after.commit_retry["count"] == 120 and after.commit_retry["le 0.001"] == 3
    counts = writer.retry_counts(before.commit_retry, after.commit_retry)
    assert counts["(retry count)"] == 100 and counts["(retry sum)"] == pytest.approx(0.25)
    found = writer.retries([Row(0, 1.0, {"heartbeat": 500.0} | counts, {})])
    assert found == {"retry_ms": 2.5, "retry_min_ms": 1.0, "retries": 100}


def test_too_few_retries_write_none_and_the_holds_keep_the_pooled_writer():
    few = writer.retry_counts({}, parse_metrics(_scrape(0.02, (0, 1, 2, 3, 4, 10))).commit_retry)
    assert writer.retries([Row(0, 1.0, few, {})]) is None
    holds = writer.route_holds([Row(0, 1.0, LOGINS | few, {})])
    assert holds is not None and "retry_ms" not in holds


def test_the_route_holds_carry_the_retries_into_the_platform_file_s_tier(monkeypatch):
    many = writer.retry_counts({}, parse_metrics(_scrape(0.3, (0, 40, 60, 80, 90, 100))).commit_retry)
    holds = writer.route_holds([Row(0, 1.0, LOGINS | many, {})])
    assert holds is not None and (holds["retry_ms"], holds["retry_min_ms"]) == (3.0, 1.0)
    assert "retries every 3 ms on average" in str(holds["note"])
    kept = writer.for_endpoints(holds, {"login", "heartbeat"})  # served (default since 2026-12-01)
    assert kept is not None and kept["retry_ms"] == 3.0 and kept["hold_ms"] == {"login": 8.0}
    monkeypatch.setattr(writer, "WRITE_SPREADS", False)  # switched off: measured and noted, not served
    kept = writer.for_endpoints(holds, {"login", "heartbeat"})
    assert kept is not None and "retry_ms" not in kept and "retries every 3 ms" in kept["note"]


def test_the_retries_are_read_over_the_spread_rows_the_means_over_all():
    """A calibration's retries and holds' spread come from the steps below half the knee
    (``spread_rows``), the holds' means from every step: a quiet step's 100 retries of 3 ms and
    sign-ins of 8 ms, a busy step's 100 retries of 9 ms and sign-ins of 16 ms."""
    quiet = writer.retry_counts({}, parse_metrics(_scrape(0.3, (0, 40, 60, 80, 90, 100))).commit_retry)
    busy = writer.retry_counts({}, parse_metrics(_scrape(0.9, (0, 0, 0, 0, 10, 100))).commit_retry)
    rows = [Row(0, 1.0, LOGINS | quiet, {}), Row(1, 1.0, {"login": 10.0, "(hold_s login)": 0.16,
                                                          "(holds login)": 10.0} | busy, {})]
    holds = writer.route_holds(rows, rows[:1])
    assert holds is not None and holds["retry_ms"] == 3.0 and holds["hold_ms"] == {"login": 12.0}
    assert "over its 1 steps below half the knee" in str(holds["note"])
    assert writer.route_holds(rows)["retry_ms"] == 6.0  # type: ignore[index]  # over both
