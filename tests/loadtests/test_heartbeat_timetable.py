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
from loadtests.journeys import TeacherJourney
from loadtests.session import Session

delay = float(sys.argv[1])
sent, clock = [], {}

started = []  # the plays' start beats

class SlowApi:
    client = SimpleNamespace(requests=0, label=sys.argv[3] if len(sys.argv) > 3 else "")
    def start_play(self, course_id, resource):
        clock["start"], clock["wall"] = time.monotonic(), time.time()
        started.append(time.monotonic())
    def report_progress(self, course_id, resource, position_s, elapsed_s, last):
        sent.append((time.monotonic() - clock["start"], position_s, elapsed_s))
        gevent.sleep(delay)
        return 999.0 if last else None

# 600 model seconds at compress 300: 2 s of test, a beat every 0.2 s (60 model s)
platform = SimpleNamespace(heartbeat_interval_s={"basic": 60.0})
session = SimpleNamespace(api=SlowApi(), pause_until=lambda d: Session.pause_until(None, d),
                          first_phase=lambda: 1.0, replay=SimpleNamespace(t0=time.time() + 0.3))
journey = SimpleNamespace(ctx=SimpleNamespace(compress=300.0, scenario=SimpleNamespace(platform=platform)),
                          sub="basic", session=session)
journey._at_origin = lambda: TeacherJourney._at_origin(journey)
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 600.0
studied = TeacherJourney._watch(journey, SimpleNamespace(cid=1, studied_s=0.0), {"id": "1.1.1"}, seconds)
print(json.dumps({"sent": sent, "studied": studied, "starts": len(started), "label": SlowApi.client.label,
                  "origin_s": session.replay.t0 - clock["wall"]}))
"""


def _play(delay_s: float, seconds: float = 600.0, label: str = "") -> dict:
    done = subprocess.run([sys.executable, "-c", PLAY, str(delay_s), str(seconds), label], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
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


@pytest.mark.parametrize("seconds, beats", [(630.0, 12), (600.0, 11), (30.0, 2)])
def test_the_player_sends_the_beats_the_rules_count(seconds, beats):
    # domain.decisions.beats_in_play, which the model counts too: a start beat, one a minute of
    # play, and one for a last part minute (630 s: 1 + 10 + 1)
    from domain.decisions import beats_in_play

    played = _play(0.0, seconds)
    assert played["starts"] + len(played["sent"]) == beats == beats_in_play(seconds, 60.0)[0]


def test_a_resumed_sessions_first_start_beat_is_set_up_before_the_origin():
    # the model's session was mid-play when the stretch began: its play's start beat came before,
    # so the replay sends it in the set-up window (labelled) and the play resumes at the origin
    played = _play(0.0, 600.0, " [resumed set-up]")
    assert played["label"] == "" and played["starts"] == 1
    assert played["origin_s"] > 0.2  # the start beat left before the origin
    assert played["sent"][0][0] == pytest.approx(played["origin_s"] + 0.2, abs=0.1)  # 1st beat after it


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
from loadtests.session import Session

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
