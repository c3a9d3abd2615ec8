"""yanxiu loadtest --server-max-in-flight / --server-waiting-room reach the reference server it
starts as yanxiu serve's own options (none by default)."""

from __future__ import annotations

import argparse

from yanxiu.commands.loadtest import add_arguments
from yanxiu.replay_setup import serve_options


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["scenario.yaml", *argv])


def test_the_overload_options_become_serve_options():
    assert serve_options(_args()) == ()
    assert serve_options(_args("--server-max-in-flight", "32", "--server-waiting-room", "7.5")) == (
        "--max-in-flight", "32", "--waiting-room", "7.5")


def test_the_reference_target_appends_them_to_its_serve_command():
    from loadtests.target import ReferenceTarget

    target = ReferenceTarget("smoke.yaml", 10, "2023-01-05T00:00", "246810",
                             serve_options=("--waiting-room", "3"))
    assert target.serve_options == ("--waiting-room", "3")
