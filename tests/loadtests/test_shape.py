"""ReplayShape's own bound: the plan's duration, plus the resumed sessions' set-up window before
the origin (which grows with their number), plus a guard. Locust monkey-patches the process on
import, so the shape runs in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

TICKS = r"""
from gevent import monkey; monkey.patch_all()
import json
from types import SimpleNamespace
from loadtests.harness import harness
from loadtests.shape import ReplayShape

class Environment:  # weakly keyed by the harness
    parsed_options = SimpleNamespace(yanxiu_t0=None)  # the origin never came: only the bound ends it

env = Environment()
options = SimpleNamespace(resume_sessions=1)
harness(env).context = SimpleNamespace(plan=SimpleNamespace(duration_s=100.0, set_up_s=lambda: 120.0),
                                       options=options)
shape = ReplayShape.__new__(ReplayShape)
shape.runner = SimpleNamespace(environment=env)
ticks = {}
for resume, run_time in ((1, 150.0), (1, 270.0), (1, 290.0), (0, 150.0), (0, 170.0)):
    options.resume_sessions = resume
    shape.get_run_time = lambda t=run_time: t
    ticks[f"{resume} {run_time:g}"] = shape.tick()
print(json.dumps(ticks))
"""


def test_the_bound_leaves_room_for_the_set_up_window():
    done = subprocess.run([sys.executable, "-c", TICKS], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    ticks = json.loads(done.stdout.strip().splitlines()[-1])
    # 100 s of plan + 120 s of set-up + the 60-s guard: still running at 270 s, over at 290 s
    assert ticks["1 150"] == [0, 1] and ticks["1 270"] == [0, 1] and ticks["1 290"] is None
    assert ticks["0 150"] == [0, 1] and ticks["0 170"] is None  # no set-up without resumed sessions
