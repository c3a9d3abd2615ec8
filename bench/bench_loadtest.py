"""Requests/s one core of the load-test harness generates with the teacher scenario, side by
side with a Locust hello-world user, against the same trivial endpoint in the same run.

The target is the canned-answer stub (``loadtests.stub``, raw asyncio, uvloop), pinned to
one core; Locust runs in one process pinned to the other, so the harness is what limits the
rate. Both cases are closed loops of the same number of users with no think time:

- hello-world: ``GET /hello`` in a loop (the Locust baseline);
- teacher: each loop is one whole session of the real journeys (``loadtests.journeys``),
  with the smoke scenario's mix of registrations, logins, administrators and certificate
  fetches, a new connection per session, the rules-module decisions, JSON bodies and
  answers, heartbeats and tests; model think times compressed to nothing.

Rounds alternate (hello, teacher, hello, ...) so that background load on the machine hits
both alike; the figures are medians. Prints the table and the ratio (target: >= 0.70), and each
case's generator CPU per request: the Locust process's CPU (psutil, user + system) from test
start to its end, divided by the requests it made. On this machine the generator shares the
cores with the server it load-tests, so that CPU is background the measured server pays for.

``--before DIR`` adds a third case in the same rounds: the teacher case with the replay's code
(``loadtests``, ``domain``) of another checkout (``git archive <commit>`` unpacked in DIR), so a
change to the replay is measured beside what it replaced, under the same background load.

    .venv/bin/python bench/bench_loadtest.py [--seconds 10] [--rounds 3] [--users 50] [--before DIR]

Traffic goes to 127.0.0.1 only; every run is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "scenarios" / "smoke.yaml"
TARGET = 0.70
BEFORE = "teacher (before)"

# the generator's CPU per request: psutil CPU of the Locust process over the test, read in the
# process itself at test start and at its end, with the requests Locust counted
CPU_HOOK = """
import json, psutil
from locust import events as _events


@_events.test_start.add_listener
def _cpu_start(environment, **_kw):
    times = psutil.Process().cpu_times()
    environment.cpu_at_start = times.user + times.system


@_events.quitting.add_listener
def _cpu_end(environment, **_kw):
    times = psutil.Process().cpu_times()
    with open({out!r}, "w") as handle:
        json.dump({{"cpu_s": times.user + times.system - environment.cpu_at_start,
                   "requests": environment.stats.total.num_requests}}, handle)
"""

HELLO = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Hello(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self):
        self.client.get("/hello", name="hello")
"""

TEACHER = """
import argparse, itertools
import gevent
from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from loadtests.arrivals import Replay
from loadtests.journeys import user_class_for
from loadtests.options import build_context


@events.test_start.add_listener
def _start(environment, **_kw):
    options = argparse.Namespace(
        scenario={scenario!r}, model_results={model!r}, stretch="window", compress=1e6, scale=1.0,
        accounts={accounts!r}, answers={answers!r}, route_map="", bin_seconds=10, max_sessions=10**6,
        seed=7, mobile_base=0, arrival_process="deterministic", max_duration=None,
        sms_code="246810")
    context = build_context(options)
    environment.yanxiu = Replay(environment, context, 0, 1, 0.0)
    Driver.arrivals = itertools.cycle(context.plan.schedule())
    for kind in range(4):
        user_class_for(kind).host = environment.host


class Driver(FastHttpUser):
    \"\"\"Runs one whole session of the real journeys per loop (a closed loop).\"\"\"

    wait_time = constant(0)
    arrivals = None

    @task
    def session(self):
        arrival = next(self.arrivals)
        user = user_class_for(arrival.kind)(self.environment)
        user.arrival = arrival
        user.replay = self.environment.yanxiu  # as the replay's scheduler hands it (loadtests.arrivals)
        # in its own greenlet: a session swallows GreenletExit (Locust's User.run does), so
        # the driver must be the one that receives it when the run ends
        child = gevent.spawn(user.run)
        try:
            child.join()
        finally:
            child.kill(block=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both cases")
    parser.add_argument("--users", type=int, default=50, help="concurrent users in both cases")
    parser.add_argument("--before", type=Path, help="also run the teacher case with this checkout's replay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-loadtest-") as tmp:
        folder = Path(tmp)
        files = _fixtures(folder)
        stub = _start_stub(folder, files["answers"])
        try:
            trees = {"hello-world": ROOT, "teacher": ROOT}
            if args.before is not None:
                trees = {"hello-world": ROOT, BEFORE: args.before.resolve(), "teacher": ROOT}
            results: dict[str, list[dict]] = {case: [] for case in trees}
            for _ in range(args.rounds):
                for case, tree in trees.items():
                    locustfile = files["teacher" if case == BEFORE else case]
                    results[case].append(_run(folder, locustfile, stub, args.users, args.seconds, tree))
        finally:
            stub.terminate()
            stub.wait(10)
    _report(results, args)


def _fixtures(folder: Path) -> dict[str, Path]:
    model = folder / "model"
    model.mkdir()
    with (model / "timeseries.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minute", "arrivals.sessions", "arrivals.registrations", "rps.admin_progress",
                         "rps.certificate"])
        for m in range(60):  # the smoke scenario's evening mix: a fifth registrations, some admins
            writer.writerow([f"2023-01-05T20:{m:02d}:00+08:00", 100, 20, 0.1, 0.05])
    accounts = folder / "accounts.csv"
    with accounts.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mobile", "password", "teacher_id", "school_id", "province", "sub_platform", "role"])
        for i in range(1, 2001):
            writer.writerow([f"1380{i:07d}", "Yanxiu@2023", i, 1, "P", ("basic", "higher")[i % 2], "teacher"])
        for i in range(1, 21):
            writer.writerow([f"1390{i:07d}", "Yanxiu@2023", 5000 + i, 1, "P", "basic", "school_admin"])
    answers = folder / "answers.json"
    hello = folder / "hello.py"
    hello.write_text(HELLO)
    teacher = folder / "teacher.py"
    teacher.write_text(textwrap.dedent(TEACHER).format(
        scenario=str(SMOKE), model=str(model), accounts=str(accounts), answers=str(answers)))
    return {"hello-world": hello, "teacher": teacher, "answers": answers}


def _start_stub(folder: Path, answers: Path) -> subprocess.Popen:
    from loadtests.target import free_port

    port = free_port()
    stub = subprocess.Popen([sys.executable, "-m", "loadtests.stub", "--port", str(port),
                             "--scenario", str(SMOKE), "--answers-out", str(answers),
                             "--max-seconds", "1800"], cwd=ROOT, stdout=subprocess.DEVNULL)
    _pin(stub.pid, 0)
    stub.url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{stub.url}/hello", timeout=1).close()
            return stub
        except OSError:
            time.sleep(0.1)
    stub.kill()
    raise SystemExit("the stub did not start")


def _run(folder: Path, locustfile: Path, stub, users: int, seconds: float, tree: Path = ROOT) -> dict:
    prefix = folder / f"run-{time.monotonic_ns()}"
    hooked = folder / f"{prefix.name.replace('-', '_')}.py"  # the case's locustfile with the CPU hook
    hooked.write_text(locustfile.read_text() + CPU_HOOK.format(out=f"{prefix}_cpu.json"))
    process = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(hooked), "--headless", "--host", stub.url,
         "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--csv", str(prefix),
         "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "1"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(tree)})
    _pin(process.pid, 1)
    cpu = _cpu_while(process, stub.pid)
    process.wait(timeout=seconds + 120)
    with open(f"{prefix}_stats.csv", newline="") as handle:
        total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    with open(f"{prefix}_cpu.json") as handle:
        used = json.load(handle)
    return {"rps": float(total["Requests/s"]), "requests": int(total["Request Count"]),
            "failures": int(total["Failure Count"]),
            "cpu_ms_per_request": 1000.0 * used["cpu_s"] / max(1, used["requests"]), **cpu}


def _cpu_while(process: subprocess.Popen, stub_pid: int) -> dict:
    """Median CPU % of the Locust process (once running) and of the stub, sampled each second."""
    harness, target = psutil.Process(process.pid), psutil.Process(stub_pid)
    target.cpu_percent(None)
    harness.cpu_percent(None)
    samples: list[tuple[float, float]] = []
    while process.poll() is None:
        time.sleep(1.0)
        try:
            samples.append((harness.cpu_percent(None), target.cpu_percent(None)))
        except psutil.NoSuchProcess:
            break
    busy = [s for s in samples if s[0] > 20] or samples or [(0.0, 0.0)]
    return {"harness_cpu": statistics.median(s[0] for s in busy),
            "stub_cpu": statistics.median(s[1] for s in busy)}


def _pin(pid: int, core: int) -> None:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(pid, {cores[core % len(cores)]})


def _report(results: dict[str, list[dict]], args) -> None:
    print(f"bench_loadtest: {args.users} users, {args.rounds} rounds x {args.seconds:g} s, "
          "Locust pinned to one core, stub to another")
    print(f"{'case':<17} {'req/s (median)':>15} {'rounds':>24} {'failures':>9} "
          f"{'harness CPU':>12} {'stub CPU':>9} {'CPU ms/request':>15} {'rounds':>20}")
    medians = {}
    for case, runs in results.items():
        medians[case] = statistics.median(r["rps"] for r in runs)
        rounds = " ".join(f"{r['rps']:.0f}" for r in runs)
        per_request = " ".join(f"{r['cpu_ms_per_request']:.3f}" for r in runs)
        print(f"{case:<17} {medians[case]:>15.0f} {rounds:>24} {sum(r['failures'] for r in runs):>9} "
              f"{statistics.median(r['harness_cpu'] for r in runs):>11.0f}% "
              f"{statistics.median(r['stub_cpu'] for r in runs):>8.0f}% "
              f"{statistics.median(r['cpu_ms_per_request'] for r in runs):>15.3f} {per_request:>20}")
    for case in results:
        if case == "hello-world":
            continue
        ratio = medians[case] / medians["hello-world"] if medians["hello-world"] else float("nan")
        verdict = "meets" if ratio >= TARGET else "BELOW"
        print(f"ratio {case} / hello-world = {ratio:.2f} ({verdict} the {TARGET:.2f} target)")


if __name__ == "__main__":
    main()
