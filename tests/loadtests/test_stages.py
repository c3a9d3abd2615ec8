"""A later sign-in takes an account at the stage (credited courses) the model's sessions of its
minute were at: a course-1 session nearly always reaches its test, so a roster drawing studying
accounts at large (18.8% in course 1 at smoke's peak hour, the model's sign-ins 13.5%) took
1.3x the model's tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from loadtests.accounts import Account, Roster, load_accounts
from loadtests.plan import SESSION, Plan, Series, read_timeseries
from tests.loadtests.conftest import write_series


def _series(by_stage: dict[int, list[float]], sessions: list[float],
            enrols: list[float] | None = None) -> Series:
    n = len(sessions)
    minutes = [dt.datetime(2023, 1, 5, 20, 0) + dt.timedelta(minutes=i) for i in range(n)]
    zeros = np.zeros(n)
    return Series(minutes, np.array(sessions), zeros, zeros, zeros,
                  enrols=np.array(enrols) if enrols is not None else None,
                  by_stage={k: np.array(v) for k, v in by_stage.items()})


def test_later_sign_ins_follow_the_models_stages_minute_by_minute():
    # 60 sessions a minute, 6 of them first sessions (enrol), the rest at stage 0 or 1 by minute
    stage0, stage1 = [20.0, 5.0, 30.0], [34.0, 49.0, 24.0]
    plan = Plan(_series({0: stage0, 1: stage1}, [60.0] * 3, enrols=[6.0] * 3), 0, 3, compress=6, scale=1.0)
    arrivals = plan.schedule()
    later = [a for a in arrivals if a.kind == SESSION and a.first is False]
    assert all(a.stage is None for a in arrivals if a.first is not False)
    for minute in range(3):
        mine = [a.stage for a in later if int(a.at // plan.minute_s) == minute]
        assert abs(mine.count(0) - stage0[minute]) <= 1 and abs(mine.count(1) - stage1[minute]) <= 1
    poisson = plan.schedule("poisson", np.random.default_rng(1))
    drawn = [a.stage for a in poisson if a.kind == SESSION and a.first is False]
    assert abs(drawn.count(0) / len(drawn) - 55 / 162) < 0.1


def test_without_the_columns_no_stage_is_said(tmp_path):
    s = read_timeseries(write_series(tmp_path / "m", [60.0] * 3, enrol_rps=[0.1] * 3) / "timeseries.csv")
    assert s.by_stage == {} and all(a.stage is None for a in Plan(s, 0, 3, compress=6, scale=1.0).schedule())


def test_the_roster_gives_a_later_sign_in_an_account_at_its_stage(tmp_path):
    accounts = [Account(f"170{i:08d}", "pw", i, 1, "S", "basic" if i % 2 else "higher", "teacher",
                        progress="studying", stage=i % 3) for i in range(60)]
    accounts += [Account(f"171{i:08d}", "pw", 100 + i, 1, "S", "basic", "teacher", progress="none")
                 for i in range(5)]
    roster = Roster(accounts)
    for stage in (0, 1, 2):  # 10 of each stage on the basic site, each handed out once
        got = [roster.teacher("basic", False, stage) for _ in range(10)]
        assert all(a.stage == stage and a.sub_platform == "basic" and a.progress == "studying" for a in got)
        assert len({a.teacher_id for a in got}) == 10
    # used up: a studying one of the sub-platform (its beats matter more than its tests)
    again = roster.teacher("basic", False, 0)
    assert again.sub_platform == "basic" and again.progress == "studying"
    assert roster.teacher("basic", True, 1).progress == "none"  # a first session: not enrolled
    assert roster.teacher("higher", False, 7).progress == "studying"  # no such stage: any studying one
    path = tmp_path / "accounts.csv"
    path.write_text("mobile,password,teacher_id,sub_platform,role,token,resume,progress,stage\n"
                    "13800000001,pw,1,basic,teacher,,,none,\n13800000002,pw,2,basic,teacher,,,studying,1\n")
    assert [a.stage for a in load_accounts(path)] == [None, 1]


def test_enough_accounts_are_seeded_at_every_stage():
    """Each later sign-in gets a studying account of its stage and sub-platform of its own: the
    seeding draws stages with its shares, so the stage seeded short of its sign-ins (smoke's peak
    hour: stage 1, ~0.7 of the seeded teachers for 0.86 of the sign-ins) sets the count."""
    from yanxiu.replay_setup import teachers_needed

    # 100 sessions a minute for 60 minutes, all later sign-ins: 1,400 at stage 0, 4,600 at stage 1
    plan = Plan(_series({0: [1400 / 60] * 60, 1: [4600 / 60] * 60}, [100.0] * 60), 0, 60, compress=36,
                scale=1.0)
    base = teachers_needed(plan)
    assert base == 1.2 * 6000 + 50
    stages = {0: 0.19, 1: 0.55}  # the rest not started or complete
    needed = teachers_needed(plan, stages=stages, shares={"basic": 0.8, "higher": 0.2})
    assert needed > base
    for stage, sign_ins in ((0, 1400), (1, 4600)):  # every stage and sub covered, 3 sd below its mean
        for q in (0.8, 0.2):
            p = stages[stage] * q
            assert needed * p - 3 * (needed * p * (1 - p)) ** 0.5 >= sign_ins * q - 1
    assert teachers_needed(plan, stages={0: 0.9, 1: 0.05}) > base  # any stage can set it
