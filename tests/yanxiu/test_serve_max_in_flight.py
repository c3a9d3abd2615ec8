"""yanxiu serve --max-in-flight and --waiting-room: into the settings (and the workers'
environment); a bad value is one line naming the option."""

from __future__ import annotations

import argparse

import pytest

from yanxiu.commands.serve import add_arguments, settings_from_args
from yanxiu.errors import CommandError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_bound_reaches_the_settings_and_the_workers():
    settings = settings_from_args(_args("--max-in-flight", "64"))
    assert settings.max_in_flight == 64 and settings.to_env()["YANXIU_MAX_IN_FLIGHT"] == "64"
    assert settings_from_args(_args()).max_in_flight == 0


def test_a_negative_bound_is_refused_naming_the_option():
    with pytest.raises(CommandError, match="^--max-in-flight: "):
        settings_from_args(_args("--max-in-flight", "-1"))


def test_the_waiting_room_reaches_the_settings_and_a_bad_rate_names_the_option():
    from reference.settings import Settings

    settings = settings_from_args(_args("--waiting-room", "30"))
    assert settings.waiting_room == 30 and Settings.from_env(settings.to_env()).waiting_room == 30
    assert settings_from_args(_args()).waiting_room == 0
    with pytest.raises(CommandError, match="^--waiting-room: "):
        settings_from_args(_args("--waiting-room", "-2"))
