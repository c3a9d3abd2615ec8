"""The replay's initial condition: the sessions the model has in progress at the first minute."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydantic import TypeAdapter

from domain.distributions import Distribution
from loadtests.plan import RESUMED_INDEX_BASE, SESSION, Plan, Series, resumed_draw
from loadtests.timing import RESUMED_SET_UP_S, SET_UP_PER_S, set_up_s


def _series(running: float) -> Series:
    minutes = [dt.datetime(2023, 1, 5, 20, i) for i in range(10)]
    ones = np.ones(10)
    return Series(minutes, ones * 12, ones * 2, ones * 0, ones * 0, ones * running)


def test_in_progress_sessions_at_test_scale_without_the_first_minutes_arrivals():
    plan = Plan(_series(1012.0), 0, 10, compress=60, scale=0.1)
    assert plan.in_progress_at_start() == pytest.approx((1012 - 12) * 0.1)


def test_resumed_sessions_have_the_equilibrium_residual_length():
    """Exponential lengths are memoryless: the residual has the same mean. Uniform(0, 60)
    lengths: E[residual] = E[L²] / (2 E[L]) = 20 minutes (not 15, not 30)."""
    plan = Plan(_series(20_012.0), 0, 10, compress=60, scale=1.0)
    uniform = TypeAdapter(Distribution).validate_python({"kind": "uniform", "low": 0, "high": 60})
    resumed = plan.resumed(uniform, np.random.default_rng(3))
    assert len(resumed) == 20_000
    remaining = np.array([a.remaining_minutes for a in resumed])
    assert remaining.mean() == pytest.approx(20.0, rel=0.02)
    assert all(a.kind == SESSION and a.index >= RESUMED_INDEX_BASE for a in resumed)
    # all set up in the window before the origin, spread evenly (no burst): 20,000 sessions at
    # most 50 a second take 400 s
    window = plan.set_up_s()
    assert window == pytest.approx(20_000 / SET_UP_PER_S)
    times = np.array([a.at for a in resumed])
    assert times.min() > -window and times.max() < 0
    assert np.histogram(times, bins=10, range=(-window, 0))[0] == pytest.approx([2000] * 10, abs=1)


def test_a_few_resumed_sessions_set_up_in_the_shortest_window():
    plan = Plan(_series(1012.0), 0, 10, compress=60, scale=0.1)  # 100 sessions: 2 s at 50 a second
    assert plan.resumed_count() == 100 and plan.set_up_s() == RESUMED_SET_UP_S
    assert set_up_s(0) == RESUMED_SET_UP_S and set_up_s(1000) == pytest.approx(20.0)


def test_no_session_column_means_an_empty_start():
    series = _series(0.0)
    series = Series(series.minutes, series.sessions, series.registrations, series.admin, series.certificates)
    assert Plan(series, 0, 10, 60, 1.0).resumed(None, np.random.default_rng(0)) == []


def test_a_resumed_session_draws_its_remaining_length_once():
    length, other = object(), object()
    draw = resumed_draw(lambda d: 99.0, length, 7.5)
    assert draw(other) == 99.0
    assert draw(length) == 7.5
    assert draw(length) == 99.0  # a later session length is the user's own draw


def test_the_reference_target_seeds_the_resumed_sessions_accounts_in_a_session(tmp_path, monkeypatch):
    """``yanxiu loadtest --resume-sessions`` asks ``yanxiu seed`` for one account in a running
    session's state per resumed session (``--resumed``), only with the model's progress."""
    import subprocess
    from types import SimpleNamespace

    from loadtests.target import ReferenceTarget

    calls: list[list[str]] = []
    def run(argv, **_):
        calls.append(argv)
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(subprocess, "run", run)
    for progress_at in ("2023-01-05T20:00", None):
        target = ReferenceTarget(tmp_path / "s.yaml", 50, "2023-01-05T20:00", "123456",
                                 progress_at=progress_at, resumed=7)
        target.folder = tmp_path
        target._seed()
    assert calls[0][calls[0].index("--resumed") + 1] == "7"
    assert "--resumed" not in calls[1]
