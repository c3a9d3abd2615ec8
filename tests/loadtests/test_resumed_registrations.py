"""The replay's initial condition, registrations: those the model has in progress at the
stretch's first minute (their ``register`` request falls code entry + form after their SMS
code, in a later minute), resumed in their phase; their code is sent again in the set-up window.

Locust monkey-patches the process on import, so the journey runs in a child process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest
from pydantic import TypeAdapter

from domain.distributions import Distribution
from loadtests.plan import REGISTRATION, RESUMED_SET_UP, Plan, Series
from loadtests.registering import CODE, FORM, RESUMED_REGISTRATION_BASE, resumed_registrations
from tests.conftest import ROOT


def _dist(**spec) -> Distribution:
    return TypeAdapter(Distribution).validate_python(spec)


def _registration(code: dict, form: dict):
    return type("Reg", (), {"code_entry_s": _dist(**code), "form_s": _dist(**form),
                            "school_searches": _dist(kind="deterministic", value=1)})()


def _plan(registrations: list[float], start: int, scale: float = 1.0) -> Plan:
    n = len(registrations)
    minutes = [dt.datetime(2023, 1, 5, 20, 0) + dt.timedelta(minutes=i) for i in range(n)]
    regs = np.array(registrations, float)
    series = Series(minutes, regs * 10 + 1, regs, np.zeros(n), np.zeros(n))
    return Plan(series, start, n, compress=2, scale=scale)


def test_a_two_minute_journey_leaves_the_two_minutes_before_the_start_in_progress():
    """D = 30 s + 90 s = 2 min exactly: one started k minutes before (at a uniform instant of
    that minute) is running at the start iff 2 > k - U, i.e. k = 1 or 2: r_-1 + r_-2."""
    plan = _plan([1000, 700, 300, 50, 8, 0], start=4, scale=0.5)
    reg = _registration({"kind": "deterministic", "value": 30}, {"kind": "deterministic", "value": 90})
    resumed = resumed_registrations(plan, reg, np.random.default_rng(1), set_up_s=10.0)
    assert len(resumed) == (300 + 50) * 0.5
    assert all(a.kind == REGISTRATION and a.index >= RESUMED_REGISTRATION_BASE and a.resumed for a in resumed)
    assert all(-10.0 < a.at < 0.0 and a.remaining_minutes is None for a in resumed)
    # elapsed time: from minute -1 (50) uniform in (0, 60) s, from minute -2 (300) in (60, 120) s;
    # code entry is the first 30 s: half of minute -1's are entering their code, 0-30 s left;
    # the rest are in the form, minute -1's with 60-90 s left (mean 75), minute -2's 0-60 (30)
    phases = [a.registration_left for a in resumed]
    code = [p[1] for p in phases if p is not None and p[0] == CODE]
    form = [p[1] for p in phases if p is not None and p[0] == FORM]
    assert len(code) + len(form) == len(resumed)
    assert len(code) == pytest.approx(25 * 0.5, abs=7) and all(0 < c <= 30 for c in code)
    assert all(0 < f <= 90 for f in form)
    assert np.mean(form) == pytest.approx((12.5 * 75 + 150 * 30) / 162.5, rel=0.05)


def _exp_survival(t: np.ndarray, a: float, b: float) -> np.ndarray:
    """P(X + Y > t), X ~ Exp(mean a), Y ~ Exp(mean b) (hypoexponential), 1 for t <= 0."""
    s = (b * np.exp(-np.maximum(t, 0) / b) - a * np.exp(-np.maximum(t, 0) / a)) / (b - a)
    return np.where(t <= 0, 1.0, s)


def test_the_count_is_the_renewal_expectation_over_the_minutes_before():
    """Σ_k r_-k ∫_0^1 P(D > k - u) du, with D's survival in closed form (two exponential
    phases, means 0.6 and 1.8 minutes), against the count the replay resumes."""
    rates = [400.0, 900.0, 200.0, 1500.0, 600.0, 1200.0, 800.0, 0.0, 0.0]
    start = 7
    plan = _plan(rates, start=start, scale=1.0)
    reg = _registration({"kind": "exponential", "mean": 36}, {"kind": "exponential", "mean": 108})
    u = (np.arange(4000) + 0.5) / 4000
    expected = sum(rates[start - k] * _exp_survival(k - u, 0.6, 1.8).mean() for k in range(1, start + 1))
    count = len(resumed_registrations(plan, reg, np.random.default_rng(7), set_up_s=10.0))
    assert count == pytest.approx(expected, rel=0.02)
    assert count > rates[start - 1]  # not just the last minute's: the earlier ones' tails count
    # deterministic by seed
    again = resumed_registrations(plan, reg, np.random.default_rng(7), set_up_s=10.0)
    assert again == resumed_registrations(plan, reg, np.random.default_rng(7), set_up_s=10.0)


def test_nothing_before_the_first_minute_resumes_nothing():
    reg = _registration({"kind": "deterministic", "value": 30}, {"kind": "deterministic", "value": 90})
    assert resumed_registrations(_plan([100, 100], start=0), reg, np.random.default_rng(0), 10.0) == []
    assert resumed_registrations(_plan([0, 0, 100], start=2), reg, np.random.default_rng(0), 10.0) == []


JOURNEY = r"""
import json, sys, time
from gevent import monkey; monkey.patch_all()
from types import SimpleNamespace
import numpy as np
from loadtests.journeys import TeacherJourney
from loadtests.plan import REGISTRATION, Arrival

left = json.loads(sys.argv[1])
calls, pauses = [], []

class Api:
    client = SimpleNamespace(requests=0, label=sys.argv[2])
    def send_code(self, mobile, purpose):
        calls.append(("send_code", self.client.label)); return True
    def find_schools(self, keyword, sub):
        calls.append(("find_schools", self.client.label)); return [{"id": 1, "sub_platform": sub}]
    def register(self, form):
        calls.append(("register", self.client.label)); return True
    def enrol(self):
        calls.append(("enrol", self.client.label)); return True

reg = SimpleNamespace(code_entry_s="code", school_searches="searches", form_s="form")
draws = {"code": 25.0, "searches": 2.0, "form": 120.0}
roster = SimpleNamespace(new_mobile=lambda base: "13800000000")
arrival = Arrival(-1.0, REGISTRATION, 2_000_000_000, registration_left=left and tuple(left))
user = SimpleNamespace(api=Api(), rng=np.random.default_rng(0), signed_in=False, arrival=arrival,
                       replay=SimpleNamespace(t0=time.time(), roster=roster),
                       draw=lambda d: draws[d], pause=pauses.append)
ctx = SimpleNamespace(scenario=SimpleNamespace(behaviour=SimpleNamespace(registration=reg)), mobile_base=0,
                      options=SimpleNamespace(sms_code="000000"))
journey = SimpleNamespace(kind=REGISTRATION, session=user, ctx=ctx, sub="basic")
journey._sub_platform = lambda: "basic"
journey._at_origin = lambda: TeacherJourney._at_origin(journey)
TeacherJourney.register(journey)
print(json.dumps({"calls": calls, "pauses": pauses}))
"""


def _register(left, label: str = "") -> dict:
    done = subprocess.run([sys.executable, "-c", JOURNEY, json.dumps(left), label], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_new_registration_sends_its_code_then_searches_and_registers():
    run = _register(None)
    assert [c for c, _ in run["calls"]] == ["send_code", "find_schools", "find_schools", "register", "enrol"]
    assert run["pauses"] == [25.0, 120.0]


def test_a_registration_resumed_in_code_entry_gets_its_code_in_the_set_up_window():
    """The model counted its code before the stretch; the server still needs one sent to the
    phone (it refused 8 of 17 resumed registrations without), so it is sent in the set-up
    window, where it is counted apart from the stretch's ``sms_send``."""
    run = _register([CODE, 7.5], RESUMED_SET_UP)
    assert run["calls"] == [["send_code", RESUMED_SET_UP], ["find_schools", ""], ["find_schools", ""],
                            ["register", ""], ["enrol", ""]]
    assert run["pauses"] == [7.5, 120.0]  # the rest of its code entry, then a whole form


def test_a_registration_resumed_in_its_form_finds_its_school_in_the_set_up_window():
    run = _register([FORM, 40.0], RESUMED_SET_UP)
    assert run["calls"] == [["send_code", RESUMED_SET_UP], ["find_schools", RESUMED_SET_UP],
                            ["register", ""], ["enrol", ""]]
    assert run["pauses"] == [40.0]  # the rest of its form only
