"""The replay's player keeps its heartbeat timetable as a browser's timer does: a slow answer
does not stretch the play, so the heartbeat rate does not fall as the target slows down (the
shortfall that made a replay send about half the model's heartbeats on a slow target).

Locust monkey-patches the process on import, so the journey runs in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PLAY = r"""
import json, sys, time
from gevent import monkey; monkey.patch_all()
from types import SimpleNamespace
import gevent
from loadtests.journeys import Session, TeacherJourney

delay = float(sys.argv[1])
sent, clock = [], {}

class SlowApi:
    def start_play(self, course_id, resource):
        clock["start"] = time.monotonic()
    def report_progress(self, course_id, resource, position_s, elapsed_s, last):
        sent.append((time.monotonic() - clock["start"], position_s, elapsed_s))
        gevent.sleep(delay)
        return 999.0 if last else None

# 600 model seconds at compress 300: 2 s of test, a beat every 0.2 s (60 model s)
platform = SimpleNamespace(heartbeat_interval_s={"basic": 60.0})
session = SimpleNamespace(api=SlowApi(), pause_until=lambda d: Session.pause_until(None, d),
                          first_phase=lambda: 1.0)
journey = SimpleNamespace(ctx=SimpleNamespace(compress=300.0, scenario=SimpleNamespace(platform=platform)),
                          sub="basic", session=session)
studied = TeacherJourney._watch(journey, SimpleNamespace(cid=1, studied_s=0.0), {"id": "1.1.1"}, 600.0)
print(json.dumps({"sent": sent, "studied": studied}))
"""


def _play(delay_s: float) -> dict:
    done = subprocess.run([sys.executable, "-c", PLAY, str(delay_s)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("delay_s", [0.0, 0.15])
def test_beats_keep_the_timetable_whatever_the_answer_time(delay_s):
    played = _play(delay_s)
    sent = played["sent"]
    assert [p for _, p, _ in sent] == pytest.approx([60.0 * k for k in range(1, 11)])
    assert all(elapsed == pytest.approx(60.0) for _, _, elapsed in sent)
    assert played["studied"] == 999.0  # the target's count of the course
    # beat k leaves at k × 0.2 s, not later by the answers before it: the last at 2.0 s
    assert sent[-1][0] == pytest.approx(2.0, abs=0.15)


def test_an_answer_slower_than_the_interval_sends_the_next_beat_at_once():
    sent = _play(0.35)["sent"]  # answers slower than the 0.2-s interval
    assert len(sent) == 10
    # one beat in flight at a time: each leaves as the answer before it arrives (beat k at
    # 0.2 + (k - 1) × 0.35 s), where a loop pausing after each answer sends it at k × 0.55 s
    gaps = [b[0] - a[0] for a, b in zip(sent, sent[1:], strict=False)]
    assert gaps == pytest.approx([0.35] * 9, abs=0.08)


PHASES = r"""
import json
from gevent import monkey; monkey.patch_all()
from types import SimpleNamespace
import numpy as np
from loadtests.journeys import Session

resumed = SimpleNamespace(resumed=True, played=False, rng=np.random.default_rng(3))
first = [Session.first_phase(resumed), Session.first_phase(resumed)]
draws = [Session.first_phase(SimpleNamespace(resumed=True, played=False, rng=np.random.default_rng(s)))
         for s in range(2000)]
new = Session.first_phase(SimpleNamespace(resumed=False, played=False, rng=None))
print(json.dumps({"first": first, "draws": draws, "new": new}))
"""


def test_a_resumed_sessions_first_beat_comes_at_a_uniform_phase():
    done = subprocess.run([sys.executable, "-c", PHASES], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < got["first"][0] <= 1 and got["first"][1] == 1.0  # only the first play
    assert got["new"] == 1.0  # a new session's play beats after a whole interval
    draws = got["draws"]
    assert all(0 < d <= 1 for d in draws)
    assert sum(draws) / len(draws) == pytest.approx(0.5, abs=0.03)  # uniform: mean 1/2
    assert sum(d < 0.25 for d in draws) / len(draws) == pytest.approx(0.25, abs=0.04)
