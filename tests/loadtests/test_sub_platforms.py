"""A replayed session's sub-platform is the one the model's sessions of its minute had
(``arrivals.sessions.<sub>``), and a resumed one's the model's viewers' at the first minute
(``viewers.<sub>``): heartbeats come mostly from the few viewers on the 20-s sub-platforms, so
a replay drawing sub-platforms afresh followed the scenario's shares while the model's peak
hour followed its own draw (1.13-1.47x the planned heartbeats in bins 4-9 at compress 36)."""

from __future__ import annotations

import collections
import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest

from loadtests.accounts import AccountsError, to_seed
from loadtests.plan import ADMIN, REGISTRATION, SESSION, Plan, Series, read_timeseries
from tests.conftest import ROOT

SUBS = ("basic", "higher", "vocational")


def _series(by_sub: dict[str, np.ndarray], viewers: dict[str, np.ndarray] | None = None,
            admin: float = 0.0) -> Series:
    n = len(next(iter(by_sub.values())))
    minutes = [dt.datetime(2023, 1, 5, 20, 0) + dt.timedelta(minutes=i) for i in range(n)]
    sessions = sum(by_sub.values())
    running = sessions * 0 + 500.0
    return Series(minutes, sessions, sessions * 0.1, np.full(n, admin), np.zeros(n), running,
                  by_sub, viewers or {})


def test_each_session_gets_the_sub_platform_of_the_models_sessions_minute_by_minute():
    # the model's higher-education sessions: 30% of the first half hour's arrivals, none after
    half = np.ones(30)
    by_sub = {"basic": np.concatenate([half * 7, half * 10]), "higher": np.concatenate([half * 3, half * 0]),
              "vocational": np.zeros(60)}
    plan = Plan(_series(by_sub, admin=2.0), 0, 60, compress=36, scale=2.0)
    schedule = plan.schedule()
    teachers = [a for a in schedule if a.kind in (SESSION, REGISTRATION)]
    assert all(a.sub_platform in ("basic", "higher") for a in teachers)
    assert all(a.sub_platform == "" for a in schedule if a.kind == ADMIN)
    # every sub-platform's count within one of its planned cumulative count at every arrival (plus the
    # schedule's own rounding of which arrivals are sessions)
    edges = np.arange(61) * plan.minute_s
    given = collections.Counter()
    for a in teachers:
        given[a.sub_platform] += 1
        for sub in ("basic", "higher"):
            planned = np.interp(a.at, edges, np.concatenate([[0], np.cumsum(by_sub[sub] * 2.0)]))
            assert abs(given[sub] - planned) <= 2.5, (a.at, sub)  # and the kinds: one more
    late = [a.sub_platform for a in teachers if a.at > 31 * plan.minute_s]
    assert late and set(late) == {"basic"}  # not the scenario's 10% higher after the model's stopped


def test_a_poisson_schedule_draws_them_with_each_minutes_shares():
    by_sub = {"basic": np.full(60, 8.0), "higher": np.full(60, 2.0)}
    plan = Plan(_series(by_sub), 0, 60, compress=36, scale=5.0)
    subs = [a.sub_platform for a in plan.schedule("poisson", np.random.default_rng(4))]
    share = subs.count("higher") / len(subs)
    assert share == pytest.approx(0.2, abs=4 * np.sqrt(0.16 / len(subs)))


def test_without_the_columns_the_journey_draws_the_sub_platform():
    minutes = [dt.datetime(2023, 1, 5, 20, i) for i in range(10)]
    series = Series(minutes, np.full(10, 5.0), np.zeros(10), np.zeros(10), np.zeros(10))
    plan = Plan(series, 0, 10, 36, 1.0)
    assert {a.sub_platform for a in plan.schedule()} == {""}
    assert plan.resumed_subs(7) == [""] * 7


def test_resumed_sessions_take_the_models_viewers_split_at_the_first_minute():
    by_sub = {"basic": np.full(10, 8.0), "higher": np.full(10, 2.0)}
    viewers = {"basic": np.array([120.0] + [1.0] * 9), "higher": np.array([30.0] + [99.0] * 9),
               "vocational": np.zeros(10)}
    plan = Plan(_series(by_sub, viewers), 0, 10, compress=36, scale=1.0)
    subs = plan.resumed_subs(50)
    assert collections.Counter(subs) == {"basic": 40, "higher": 10}  # 80/20, not the later minutes'
    # interleaved: any first k of them within one of their share
    assert abs(subs[:25].count("higher") - 5) <= 1
    resumed = plan.resumed(_Fixed(), np.random.default_rng(0))
    assert collections.Counter(a.sub_platform for a in resumed) == collections.Counter(
        plan.resumed_subs(plan.resumed_count()))


class _Fixed:
    """A session-length distribution of 30 minutes."""

    def sample(self, rng, size=None):
        return np.full(size, 30.0)


def test_the_models_columns_are_read_by_sub_platform(tmp_path):
    path = tmp_path / "timeseries.csv"
    path.write_text("minute,arrivals.sessions,arrivals.registrations,sessions,viewers,viewers.higher,"
                    "arrivals.sessions.higher,arrivals.sessions.basic\n"
                    "2023-01-05T20:00+08:00,3,0,10,9,4,1,2\n")
    series = read_timeseries(path)
    assert set(series.by_sub) == {"higher", "basic"} and series.by_sub["basic"][0] == 2.0
    assert set(series.viewers_by_sub) == {"higher"} and series.viewers_by_sub["higher"][0] == 4.0


def test_seeding_enough_in_session_accounts_of_every_sub_platform():
    shares = {"basic": 0.8, "higher": 0.1, "vocational": 0.1}
    needs = {"basic": 58, "higher": 6, "vocational": 10}
    n = to_seed(needs, shares)
    rng = np.random.default_rng(1)
    draws = rng.multinomial(n, [0.8, 0.1, 0.1], size=20_000)
    short = np.any(draws < np.array([58, 6, 10]), axis=1).mean()
    assert short < 0.005
    # seeding only their number (74) leaves one short most of the time
    few = rng.multinomial(74, [0.8, 0.1, 0.1], size=20_000)
    assert np.any(few < np.array([58, 6, 10]), axis=1).mean() > 0.4
    assert to_seed({"basic": 0}, shares) == 0
    with pytest.raises(AccountsError, match="'other'"):
        to_seed({"other": 3}, shares)


DRAWS = r"""
import json
from gevent import monkey; monkey.patch_all()
from types import SimpleNamespace
import numpy as np
from loadtests.journeys import TeacherJourney

out = []
for shares in ({"basic": 0.8, "higher": 0.15, "vocational": 0.05}, {"a": 0.5, "b": 0.0, "c": 0.5},
               {"only": 1.0}, {"x": 0.1, "y": 0.2, "z": 0.7}):
    same = True
    for seed in range(1500):
        ours, numpys = np.random.default_rng([7, seed]), np.random.default_rng([7, seed])
        journey = SimpleNamespace(session=SimpleNamespace(arrival=None, rng=ours),
                                  ctx=SimpleNamespace(scenario=SimpleNamespace(
                                      population=SimpleNamespace(sub_platforms=shares))))
        got = TeacherJourney._sub_platform(journey)
        names = list(shares)
        want = names[int(numpys.choice(len(names), p=np.array(list(shares.values()))))]
        same = same and got == want and ours.random() == numpys.random()  # and the stream after
    out.append(same)
print(json.dumps(out))
"""


def test_a_drawn_sub_platform_is_generator_choices_draw_on_the_same_stream():
    # the journey draws it without Generator.choice's checks each session (CPU per request), so it
    # must stay choice's draw: the same name and the seeded stream in the same state after it
    done = subprocess.run([sys.executable, "-c", DRAWS], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True, True, True, True]
