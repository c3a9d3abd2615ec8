"""``ReplayShape``: the Locust load shape that replays the model's arrivals.

Locust's shapes set a *number of users* (a closed workload: a slow target holds users back
and the load drops). Here the number Locust manages stays at zero; the sessions are started
by the arrival scheduler (``loadtests.arrivals``) at the planned instants, independently of
response times (an open workload). The shape only says how long the test lasts: the plan's
compressed duration after the shared origin, plus a short drain for the last reports, plus
(distributed) the wait for every worker's final report (``finish_workers``, the master's end of
the handshake ``loadtests.arrivals`` describes).
"""

from __future__ import annotations

import time

from locust import LoadTestShape
from locust.runners import MasterRunner

from loadtests.arrivals import FINISH
from loadtests.harness import harness
from loadtests.timing import DRAIN_S, FINISH_WAIT_S, GUARD_S


class ReplayShape(LoadTestShape):
    def tick(self):
        environment = self.runner.environment
        context = harness(environment).context
        if context is None:
            return None  # the replay could not be set up (its error was logged)
        t0 = getattr(environment.parsed_options, "yanxiu_t0", None)
        if t0 is not None and time.time() > t0 + context.plan.duration_s + DRAIN_S:
            return (0, 1) if finish_workers(environment) else None
        # the resumed sessions' set-up window comes before the origin (it grows with their number)
        set_up = context.plan.set_up_s() if getattr(context.options, "resume_sessions", 0) else 0.0
        if self.get_run_time() > context.plan.duration_s + set_up + GUARD_S:
            return None  # a bound of its own: Locust ignores --run-time with a shape
        return (0, 1)


def finish_workers(environment) -> bool:
    """In the master once the plan is over: ask the workers to finish (once); True while
    some worker's final report is still missing and ``FINISH_WAIT_S`` has not passed."""
    runner, state = environment.runner, harness(environment)
    if not isinstance(runner, MasterRunner) or state.tally is None:
        return False
    asked = state.finish_asked_at
    if asked is None:
        state.finish_asked_at = asked = time.time()
        runner.send_message(FINISH)
    expected = {client.id for client in runner.clients.values()}
    return bool(expected - state.tally.finals) and time.time() < asked + FINISH_WAIT_S
