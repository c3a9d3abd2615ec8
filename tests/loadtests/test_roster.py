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
