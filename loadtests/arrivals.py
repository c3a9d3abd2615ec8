"""The open workload: start each planned session on time, whatever the target answers.

In every load-generating process (the local runner, or each worker) a scheduler greenlet
walks its slice of the plan's arrival schedule (arrival ``k`` goes to process ``k mod
parts``), sleeps until each arrival is due and starts a user for it in its own greenlet. A
slow target makes sessions last longer, never start later: no coordinated omission. A
process whose concurrent sessions reach ``--max-sessions`` drops the arrival and counts it
(that run then fails the achieved-vs-planned check rather than quietly lowering the load).

Achieved start times and the process's CPU (psutil, once a second) go to the master in a
custom message every second (or straight to the tally in a local run). All processes share
one origin ``t0`` that the master picks at test start and hands out with the options.

The end of a distributed run is a handshake, because Locust's master stops listening half a
second after it tells the workers to quit: when the plan is over, the master sends
``FINISH``; each worker stops its sessions (those still running are counted as ``cut``),
sends Locust's statistics, then its last report marked final; the master quits once every
worker's final report is in (or after ``FINISH_WAIT_S``), so its totals are complete.
"""

from __future__ import annotations

import logging
import time

import gevent
import psutil
from gevent.pool import Group
from locust.runners import WorkerRunner

from loadtests import resolver
from loadtests.accounts import Roster
from loadtests.noise import BinTally, Sessions, merge
from loadtests.plan import KINDS

REPORT = "yanxiu_report"
FINISH = "yanxiu_finish"
REPORT_EVERY_S = 1.0
log = logging.getLogger("yanxiu.loadtest")


class Tally:
    """What the load generator really did, gathered in the master (or the local process)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.dropped = 0
        self.late_s_max = 0.0
        self.cpu: dict[str, list[float]] = {}
        self.by_process: dict[str, int] = {}
        self.cut = 0  # sessions still running when the replay ended, stopped there
        self.finals: set[str] = set()  # processes whose last report is in
        self.idle = 0  # sessions that ended without a request (loadtests.verdict)
        self.resumed = 0  # sessions the model had in progress at the start, resumed there
        self.no_account: dict[str, int] = {}  # arrival kind -> arrivals with no account of it
        self.untasked: dict[str, int] = {}  # kind -> arrivals whose user class tags left taskless
        self.bins: Sessions = []  # each session's requests per endpoint and bin (loadtests.noise)

    def add(self, node: str, data: dict) -> None:
        self.starts.extend(data.get("starts", ()))
        self.cut += int(data.get("cut", 0))
        if data.get("final"):
            self.finals.add(node)
        self.by_process[node] = self.by_process.get(node, 0) + len(data.get("starts", ()))
        self.dropped += int(data.get("dropped", 0))
        self.late_s_max = max(self.late_s_max, float(data.get("late_s_max", 0.0)))
        self.cpu.setdefault(node, []).extend(data.get("cpu", ()))
        self.idle += int(data.get("idle", 0))
        self.resumed += int(data.get("resumed", 0))
        merge(self.bins, data.get("bins") or [])
        for name in ("no_account", "untasked"):
            counts = getattr(self, name)
            for kind, n in (data.get(name) or {}).items():
                counts[kind] = counts.get(kind, 0) + int(n)


class Replay:
    """Per-process state: the context, the accounts roster, tokens, the scheduler."""

    def __init__(self, environment, context, part: int, parts: int, t0: float) -> None:
        self.environment, self.context = environment, context
        self.part, self.parts, self.t0 = part, parts, t0
        self.roster = Roster(context.accounts, part, parts, context.registrations)
        self.tokens: dict[str, dict] = {}  # mobile -> token and ids of its sign-in (journeys.Api)
        self.sessions = Group()
        self.bins = BinTally(t0)  # each session counts its requests per bin (Session.on_start)
        self._pending = _empty()
        self._greenlets: list[gevent.Greenlet] = []
        self._finished = False
        resolver.install()  # each session's new connection finds an IP-literal host in place

    @property
    def stopping(self) -> bool:
        """True once the replay ended: sessions stopping now were cut, not finished."""
        return self._finished

    def note_idle(self) -> None:
        """A session ended without sending a request."""
        self._pending["idle"] += 1

    def note_no_account(self, kind: int) -> None:
        """An arrival found no account of its kind (teacher or administrator) to sign in as."""
        _count(self._pending["no_account"], KINDS[kind])

    # --- life cycle ---------------------------------------------------------------------

    def start(self, sink) -> None:
        """``sink(data)`` receives this process's reports (a message to the master, or the
        local tally)."""
        self._sink = sink
        self._greenlets = [gevent.spawn(self._schedule), gevent.spawn(self._report_loop)]

    def stop(self) -> None:
        """End the replay (once): stop the scheduler and the sessions still running, and
        send the last report, marked final. A worker sends Locust's statistics first, so
        the master has them when it sees the final report (messages arrive in order)."""
        if self._finished:
            return
        self._finished = True
        for g in self._greenlets:
            g.kill(block=False)
        self._pending["cut"] = len(self.sessions)
        self.sessions.kill(block=False)
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner) and hasattr(runner, "_send_stats"):
            runner._send_stats()
        self._pending["final"] = True
        self._flush(always=True)

    # --- the schedule -------------------------------------------------------------------

    def _schedule(self) -> None:
        from loadtests.journeys import user_class_for

        ctx = self.context
        rng = None
        if ctx.options.arrival_process == "poisson":
            import numpy as np

            rng = np.random.default_rng([ctx.seed, 0xA441])
        mine = ctx.plan.schedule(ctx.options.arrival_process, rng)
        if getattr(ctx.options, "resume_sessions", False):
            # the sessions the model has in progress at the first minute start first, so that
            # requests per endpoint match the model's from the first bin (not a ramp from empty)
            import numpy as np

            from loadtests.registering import resumed_registrations

            resumed = ctx.plan.resumed(ctx.scenario.behaviour.sessions.length_minutes,
                                       np.random.default_rng([ctx.seed, 0x5E55]))
            # ... and so do the registrations it has in progress (their register requests)
            registering = resumed_registrations(ctx.plan, ctx.scenario.behaviour.registration,
                                                np.random.default_rng([ctx.seed, 0x4E61]),
                                                ctx.plan.set_up_s())
            mine = sorted(resumed + registering + mine, key=lambda a: a.at)
        mine = mine[self.part::self.parts]
        limit = ctx.options.max_sessions
        for kind in {a.kind for a in mine}:
            user_class_for(kind).host = self.environment.host  # Locust does this only for users it spawns
        # --tags/--exclude-tags may leave a class no task; Locust would loop on "No tasks defined"
        untasked = {kind for kind in {a.kind for a in mine} if not user_class_for(kind).tasks}
        for arrival in mine:
            wait = self.t0 + arrival.at - time.time()
            if wait > 0:
                gevent.sleep(wait)
            now = time.time() - self.t0
            if arrival.kind in untasked:
                _count(self._pending["untasked"], KINDS[arrival.kind])
                continue
            if len(self.sessions) >= limit:
                self._pending["dropped"] += 1
                continue
            user = user_class_for(arrival.kind)(self.environment)
            user.arrival = arrival  # a resumed one carries its remaining minutes (Session.draw)
            user.replay = self
            user.start(self.sessions)
            if not arrival.resumed:
                self._pending["starts"].append(now)
            else:  # not a planned arrival: kept out of the achieved-vs-planned check
                self._pending["resumed"] += 1
            late = now - arrival.at
            if late > self._pending["late_s_max"]:
                self._pending["late_s_max"] = late

    # --- reports ------------------------------------------------------------------------

    def _report_loop(self) -> None:
        process = psutil.Process()
        process.cpu_percent(None)  # the first call only starts the measurement
        while True:
            gevent.sleep(REPORT_EVERY_S)
            self._pending["cpu"].append(process.cpu_percent(None))
            self._flush()

    def _flush(self, always: bool = False) -> None:
        data, self._pending = self._pending, _empty()
        data["bins"] = self.bins.take() if always else []  # every session's counts, in the last report
        if always or any(data[k] for k in ("starts", "dropped", "cpu", "idle", "no_account", "untasked",
                                           "resumed", "bins")):
            self._sink(data)


def _empty() -> dict:
    return {"starts": [], "dropped": 0, "late_s_max": 0.0, "cpu": [], "idle": 0, "no_account": {},
            "untasked": {}, "resumed": 0}



def _count(counts: dict[str, int], kind: str) -> None:
    counts[kind] = counts.get(kind, 0) + 1


def partition(environment) -> tuple[int, int]:
    """This process's slice of the schedule: (part, parts)."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        parts = int(getattr(environment.parsed_options, "yanxiu_parts", 1) or 1)
        return runner.worker_index % parts, parts
    return 0, 1
