from __future__ import annotations

import datetime as dt

import pytest

from reference.settings import Settings, SettingsError


def test_environment_round_trip():
    settings = Settings(secret="s" * 32, clock_start=dt.datetime(2023, 1, 5, 20), sms_test_code="1234")
    again = Settings.from_env(settings.to_env())
    assert again == settings


@pytest.mark.parametrize(
    "name, value, field",
    [
        ("YANXIU_SMS_DAILY_CAP", "0", "YANXIU_SMS_DAILY_CAP"),
        ("YANXIU_CLOCK_START", "yesterday", "YANXIU_CLOCK_START"),
        ("YANXIU_SECRET", "short", "YANXIU_SECRET"),
        ("YANXIU_SMS_TEST_CODE", "12ab", "YANXIU_SMS_TEST_CODE"),
    ],
)
def test_bad_variables_are_named(name, value, field):
    with pytest.raises(SettingsError, match=field):
        Settings.from_env({name: value})


def test_route_cpu_is_on_unless_switched_off_by_variable_or_flag():
    import argparse

    from yanxiu.commands import serve

    assert Settings().route_cpu is True
    assert Settings.from_env({"YANXIU_ROUTE_CPU": "false"}).route_cpu is False
    assert Settings.from_env(Settings(route_cpu=False).to_env()).route_cpu is False

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    assert serve.settings_from_args(parser.parse_args(["--no-route-cpu"])).route_cpu is False
    # the flag wins over the variable, as every other option does
    assert Settings.from_env({"YANXIU_ROUTE_CPU": "false"}, route_cpu=True).route_cpu is True
