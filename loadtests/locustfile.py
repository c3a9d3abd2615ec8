"""Locust entry point: teachers and administrators replaying the model's arrivals.

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8000 \\
        --scenario scenarios/smoke.yaml --stretch peak-hour --compress 60 --scale 0.01 \\
        --accounts accounts.csv --answers answers.json --results-dir results/my-run

Works as any locustfile does: ``locust.conf``, ``LOCUST_*`` variables and flags; the web
UI; ``--tags``/``--exclude-tags`` (register, login, campaign, progress, study, test,
certificate, admin); ``--processes N`` or ``--master``/``--worker`` for distributed runs.
The user count is not set by hand: ``ReplayShape`` lasts as long as the replayed stretch,
and the arrival scheduler starts the planned sessions (see ``loadtests.arrivals``).
"""

from __future__ import annotations

import logging
import sys
import time

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadtests import options as yanxiu_options
from loadtests.arrivals import FINISH, REPORT, Replay, Tally, partition
from loadtests.harness import harness
from loadtests.journeys import AdminUser, TeacherUser
from loadtests.shape import ReplayShape
from loadtests.timing import LEAD_S

__all__ = ["AdminUser", "ReplayShape", "TeacherUser"]
log = logging.getLogger("yanxiu.loadtest")


@events.init_command_line_parser.add_listener
def _arguments(parser, **_kw) -> None:
    yanxiu_options.add_arguments(parser)


def _context(environment):
    """Build the replay context, or end the process with one line naming the bad option."""
    from domain.scenario import ScenarioError
    from loadtests.accounts import AccountsError
    from loadtests.adapters import AdapterError
    from loadtests.plan import PlanError
    from loadtests.routes import RouteError

    try:
        context = yanxiu_options.build_context(environment.parsed_options)
        yanxiu_options.check_accounts(context)
        return context
    except (PlanError, RouteError, AccountsError, AdapterError, ScenarioError, OSError) as exc:
        print(f"locust: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


@events.init.add_listener
def _init(environment, runner=None, **_kw) -> None:
    if isinstance(runner, WorkerRunner):
        # options come from the master at test start; import the model's modules now so
        # that building the context then takes milliseconds, not the start's first second
        import domain.campaign  # noqa: F401
        import domain.rules  # noqa: F401
        from loadtests import accounts, plan, routes, stretch  # noqa: F401
        runner.register_message(FINISH, _finish)
        return
    if environment.parsed_options is None:
        return
    state = harness(environment)
    tally = state.tally = Tally()
    state.context = _context(environment)
    if isinstance(runner, MasterRunner):
        runner.register_message(REPORT, lambda msg, **_: tally.add(msg.node_id, msg.data))


@events.test_start.add_listener
def _test_start(environment, **_kw) -> None:
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        _master_test_start(environment)
    if isinstance(runner, MasterRunner):
        return
    if isinstance(runner, WorkerRunner):
        context = yanxiu_options.build_context(environment.parsed_options)
        sink = lambda data: runner.send_message(REPORT, data)  # noqa: E731
    else:
        state = harness(environment)
        if state.context is None:  # the replay could not be set up; its error was logged
            return
        context = state.context
        tally = state.tally = Tally()  # a new test (web UI restart) counts anew
        sink = lambda data: tally.add("local", data)  # noqa: E731
    part, parts = partition(environment)
    replay = harness(environment).replay = Replay(environment, context, part, parts,
                                                  environment.parsed_options.yanxiu_t0)
    replay.start(sink)


def _master_test_start(environment) -> None:
    """The master fixes the shared origin and the number of slices for the workers."""
    options = environment.parsed_options
    context = harness(environment).context
    resume = bool(getattr(options, "resume_sessions", 0))
    set_up = context.plan.set_up_s() if resume and context is not None else 0.0
    options.yanxiu_t0 = time.time() + LEAD_S + set_up
    if isinstance(environment.runner, MasterRunner):
        options.yanxiu_parts = max(1, environment.runner.worker_count)


def _finish(environment, **_kw) -> None:
    """A worker, asked by the master to finish: its last sessions stop, its last report goes."""
    replay = harness(environment).replay
    if replay is not None:
        replay.stop()


@events.test_stopping.add_listener
def _test_stopping(environment, **_kw) -> None:
    _finish(environment)


@events.quitting.add_listener
def _quitting(environment, **_kw) -> None:
    state = harness(environment)
    if isinstance(environment.runner, WorkerRunner) or state.context is None:
        return
    folder = _results_dir(environment.parsed_options)
    if not folder:
        return
    from pathlib import Path

    from loadtests.requests import with_model_plan
    from loadtests.summary import build_summary, write_results

    summary, table = build_summary(environment, state.context, state.tally, environment.host)
    context = state.context  # the model's requests per endpoint beside the target's, when at hand
    summary = with_model_plan(summary, [e.name for e in context.scenario.platform.endpoints],
                              context.model_folder, Path(folder))
    write_results(folder, summary, table)
    arrivals = summary.arrivals
    if arrivals.planned >= 1 and arrivals.achieved == 0:
        environment.process_exit_code = 1  # nothing was replayed: a broken run, not a result
    if not summary.trustworthy:
        environment.process_exit_code = 1  # plain `locust` fails a broken run too
    verdict = "trustworthy" if summary.trustworthy else "NOT trustworthy: " + "; ".join(summary.verdict)
    log.info("arrivals: %s of %.1f planned, max bin error %.1f%%; generator CPU max %s%%; %s",
             arrivals.achieved, arrivals.planned, 100 * arrivals.max_bin_error,
             summary.generator_cpu.max, verdict)


def _results_dir(options) -> str:
    """``--results-dir``, else the folder of ``--csv``'s prefix."""
    if options.results_dir:
        return options.results_dir
    if getattr(options, "csv_prefix", None):
        from pathlib import Path

        return str(Path(options.csv_prefix).parent)
    return ""
