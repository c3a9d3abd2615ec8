"""The roster hands out teachers of the sub-platform the session drew (the model's shares),
whatever the account file's own split; without one of that sub-platform, any teacher."""

from __future__ import annotations

from collections import Counter

import numpy as np

from loadtests.accounts import Account, Roster


def _account(i: int, sub: str, role: str = "teacher") -> Account:
    return Account(f"170{i:08d}", "pw", i, 1, "Shanxi", sub, role)


def test_sessions_get_the_sub_platform_they_drew():
    # a lumpy file: 17% higher against a scenario's 20%
    accounts = [_account(i, "higher" if i < 17 else "basic") for i in range(100)]
    accounts.append(_account(500, "basic", "school_admin"))
    roster = Roster(accounts)
    rng = np.random.default_rng(1)
    drawn = ["higher" if rng.random() < 0.2 else "basic" for _ in range(5000)]
    got = Counter(roster.teacher(sub).sub_platform for sub in drawn)
    assert got["higher"] / 5000 == sum(d == "higher" for d in drawn) / 5000  # the draw, not the file's 17%
    higher = [roster.teacher("higher").mobile for _ in range(34)]
    assert len(set(higher)) == 17 and higher[:17] == higher[17:]  # in turn, every account used


def test_a_sub_platform_without_accounts_falls_back_to_any_teacher():
    roster = Roster([_account(i, "basic") for i in range(3)])
    assert roster.teacher("vocational").sub_platform == "basic"
    assert roster.teacher().role == "teacher"
    assert Roster([]).teacher("basic") is None


def test_resumed_sessions_take_the_accounts_seeded_in_a_session_and_only_they():
    """``yanxiu seed --resumed N`` seeds N accounts in a running session's state (a ``resume``
    step); those are the resumed sessions', and new sessions never get one (its study would
    be the in-flight session's)."""
    accounts = [_account(i, "basic") for i in range(10)]
    accounts += [Account(f"171{i:08d}", "pw", 100 + i, 1, "S", "higher" if i % 2 else "basic", "teacher",
                         resume=f"play:1:{i}:60.0:0.0:0") for i in range(4)]
    roster = Roster(accounts)
    assert all(not roster.teacher(sub).resume for sub in ("basic", "higher") for _ in range(30))
    resumed = [roster.resumed("basic") for _ in range(4)]
    assert all(a.resume and a.sub_platform == "basic" for a in resumed)
    assert roster.resumed("vocational").resume  # none of it seeded in a session: any such account
    plain = Roster([_account(i, "basic") for i in range(3)])
    assert plain.resumed("basic").teacher_id in {0, 1, 2}  # a file without the column: a teacher


def test_the_resume_column_is_read(tmp_path):
    from loadtests.accounts import load_accounts

    path = tmp_path / "accounts.csv"
    path.write_text("mobile,password,teacher_id,sub_platform,role,token,resume\n"
                    "13800000001,pw,1,basic,teacher,,\n13800000002,pw,2,basic,teacher,t,test:1:1:30.0:0.0:0\n")
    first, second = load_accounts(path)
    assert first.resume == "" and second.resume == "test:1:1:30.0:0.0:0"


def test_a_run_on_a_used_target_gets_teachers_no_earlier_run_took(tmp_path):
    """bench_calibrate replays level after level on the target its staircase used; every run's
    roster starts at the file's first teacher of a sub-platform, so without a file of the
    teachers left, the 30%-of-knee level's sessions (resumed ones first) took the accounts
    every calibration step had studied with (heartbeats 0.41x planned in its first bin)."""
    from loadtests.accounts import load_accounts, taken_by, write_untouched

    accounts = [_account(i, "higher" if i % 4 == 0 else "basic") for i in range(400)]
    accounts.append(_account(900, "basic", "school_admin"))
    source = tmp_path / "accounts.csv"
    source.write_text("mobile,password,teacher_id,sub_platform,role\n" + "".join(
        f"{a.mobile},pw,{a.teacher_id},{a.sub_platform},{a.role}\n" for a in accounts))
    shares = {"basic": 0.75, "higher": 0.25}
    earlier, rng = Roster(load_accounts(source)), np.random.default_rng(3)
    draws = ["higher" if rng.random() < 0.25 else "basic" for _ in range(100)]
    used = {earlier.teacher(sub).teacher_id for sub in draws}
    taken = taken_by(100, shares)
    assert all(taken[sub] >= draws.count(sub) for sub in shares)
    left = write_untouched(source, taken, tmp_path / "left.csv")
    assert left == {"basic": 300 - taken["basic"], "higher": 100 - taken["higher"]}
    fresh = load_accounts(tmp_path / "left.csv")
    assert any(a.role == "school_admin" for a in fresh)
    later = Roster(fresh)
    assert not {later.teacher(sub).teacher_id for sub in draws[:50]} & used


def test_a_first_session_takes_an_account_not_enrolled_and_a_later_one_an_enrolled_one():
    """``accounts.csv``'s ``progress`` (``yanxiu seed``): a session that is its teacher's first in
    the model (``Arrival.first``) gets an account not enrolled, which enrols on its first page; any
    other one an enrolled teacher with study left (the model's completers start no session)."""
    states = ["none", "studying", "complete"]
    accounts = [Account(f"170{i:08d}", "pw", i, 1, "S", "basic" if i < 30 else "higher", "teacher",
                        progress=states[i % 3]) for i in range(60)]
    roster = Roster(accounts)
    assert all(roster.teacher("basic", first=True).progress == "none" for _ in range(30))
    later = [roster.teacher("higher", first=False) for _ in range(30)]
    assert all(a.progress == "studying" and a.sub_platform == "higher" for a in later)
    assert {roster.teacher("basic").progress for _ in range(30)} == set(states)  # not said: any
    only_basic = Roster([a for a in accounts if a.sub_platform == "basic"])
    assert only_basic.teacher("higher", first=True).progress == "none"  # none of the sub left: any sub
    plain = Roster([_account(i, "basic") for i in range(3)])  # a file without the column
    assert plain.teacher("basic", first=True).teacher_id in {0, 1, 2}
    assert plain.teacher("basic", first=False).teacher_id in {0, 1, 2}


def test_the_progress_column_is_read(tmp_path):
    from loadtests.accounts import load_accounts

    path = tmp_path / "accounts.csv"
    path.write_text("mobile,password,teacher_id,sub_platform,role,token,resume,progress\n"
                    "13800000001,pw,1,basic,teacher,,,none\n13800000002,pw,2,basic,teacher,,,studying\n")
    assert [a.progress for a in load_accounts(path)] == ["none", "studying"]
