"""Errors that the command line turns into one line on stderr and exit code 2.

Each package below the CLI raises its own error type (never this module's): the scenario
language ``ScenarioError``, the results contract ``RecordsError``, the model ``ModelError``,
the load tests ``TargetError``, the report ``ReportError``, the gate ``GateError``. Only
``yanxiu`` turns them into the message and the exit code, through ``input_errors``.
"""

from __future__ import annotations


class CommandError(Exception):
    """Bad input to a command (a missing file, a bad option value); str() is the message."""


def input_errors() -> tuple[type[Exception], ...]:
    """Every error type that means bad input (exit 2, one line). Imported here, when a command
    fails or is about to run, from light modules: none of them imports Locust or the model."""
    from domain.scenario import ScenarioError
    from gate.evaluate import GateError
    from loadtests.errors import TargetError
    from records import RecordsError
    from report.errors import ReportError
    from sim.errors import ModelError

    return (CommandError, ScenarioError, RecordsError, ReportError, GateError, ModelError, TargetError)
