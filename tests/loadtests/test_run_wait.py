"""loadtests.run: the Locust subprocess is waited for with a heartbeat for progress, and killed
(exit 124) at its hard bound."""

from __future__ import annotations

import subprocess
import sys
import time

from loadtests.run import _wait


def test_exit_code_and_seconds_heard():
    heard: list[tuple[int, int]] = []
    process = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(2.5); sys.exit(3)"])
    assert _wait(process, bound_s=30, planned_s=2, on_second=lambda done, total: heard.append((done, total)))
    assert process.returncode == 3
    assert heard and all(total == 2 and 0 <= done <= 2 for done, total in heard)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)


def test_killed_at_the_bound():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    assert _wait(process, bound_s=1.5, planned_s=1, on_second=None) == 124
    assert time.monotonic() - started < 10
    assert process.poll() is not None
