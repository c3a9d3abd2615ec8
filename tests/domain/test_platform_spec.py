"""The platform's tiers: the group-commit writer's route holds (``PoolTier.route_holds``) are typed
and checked, and a bad one is one line naming its field."""

from __future__ import annotations

import pytest
import yaml

from domain.scenario import ScenarioError, parse_scenario
from tests.conftest import SMOKE

RAW = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))


def _with_database(**fields) -> dict:
    data = yaml.safe_load(yaml.safe_dump(RAW))
    tiers = data["platform"]["tiers"]
    index = next(i for i, t in enumerate(tiers) if t["name"] == "database")
    tiers[index] = {"name": "database", "kind": "pool", "servers": 1, "discipline": "group-commit",
                    "commit_ms": 1.0} | fields
    return data


def test_route_holds_are_read_per_endpoint():
    holds = {"hold_ms": {"test_submit": 12.5, "sms_send": 8.0}, "note": "measured"}
    tier = parse_scenario(_with_database(route_holds=holds)).platform.tier("database")
    assert tier.route_holds is not None and tier.route_holds.hold_ms == {"test_submit": 12.5, "sms_send": 8.0}
    assert tier.route_holds.retry_ms == 0.0  # unset: the pooled writer, every loop's writes at once


def test_a_blocked_loop_s_retries_are_read():
    holds = {"hold_ms": {"sms_send": 8.0}, "retry_ms": 2.4, "retry_min_ms": 1.0,
             "hold_scv": {"sms_send": 1.9}}
    tier = parse_scenario(_with_database(route_holds=holds)).platform.tier("database")
    holds_read = tier.route_holds
    assert holds_read is not None and (holds_read.retry_ms, holds_read.retry_min_ms) == (2.4, 1.0)
    assert holds_read.hold_scv == {"sms_send": 1.9}


ONE_WRITER = "route_holds: only for one group-commit writer"
SMS = {"route_holds": {"hold_ms": {"sms_send": 3.0}}}


@pytest.mark.parametrize(("fields", "message"), [
    ({"route_holds": {"hold_ms": {"nope": 3.0}}}, "route_holds.hold_ms: unknown endpoints ['nope']"),
    ({"route_holds": {"hold_ms": {"sms_send": 0}}}, "hold_ms.sms_send: Input should be greater than 0"),
    (SMS | {"servers": 2}, ONE_WRITER),
    ({"route_holds": {"hold_ms": {"sms_send": 3.0}, "share": {"login": 0.3}}},
     "route_holds: share: endpoints without a hold ['login']"),
    ({"route_holds": {"hold_ms": {"login": 3.0}, "share": {"login": 1.3}}}, "share.login: Input should be"),
    (SMS | {"discipline": "fcfs", "commit_ms": 0.0}, ONE_WRITER),
    ({"route_holds": {"hold_ms": {"sms_send": 3.0}, "retry_ms": 1.0, "retry_min_ms": 2.0}},
     "route_holds: retry_min_ms: 2.0 over retry_ms 1.0"),
    ({"route_holds": {"hold_ms": {"sms_send": 3.0}, "retry_ms": -1.0}}, "retry_ms: Input should be"),
    ({"route_holds": {"hold_ms": {"sms_send": 3.0}, "hold_scv": {"login": 2.0}}},
     "route_holds: hold_scv: endpoints without a hold ['login']"),
])
def test_a_bad_route_hold_is_one_line_naming_it(fields, message):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(_with_database(**fields), "bad.yaml")
    assert message in str(error.value) and "\n" not in str(error.value)


def _with_writer(**writer) -> dict:
    data = yaml.safe_load(yaml.safe_dump(RAW))
    api = next(t for t in data["platform"]["tiers"] if t["name"] == "api")
    api["threads"] = {"slots": 11, "sync": {}, "writer": {"endpoints": ["heartbeat"], "linger_ms": 1.0,
                                                          "commit_ms": 1.7, "write_ms": 1.4} | writer}
    return data


def test_a_writer_thread_is_read():
    tier = parse_scenario(_with_writer(covers="database")).platform.tier("api")
    assert tier.threads is not None and tier.threads.writer is not None
    assert tier.threads.writer.endpoints == ["heartbeat"] and tier.threads.writer.covers == "database"


@pytest.mark.parametrize(("writer", "message"), [
    ({"endpoints": ["nope"]}, "threads.writer.endpoints: unknown endpoints ['nope']"),
    ({"covers": "disk"}, "threads.writer.covers: 'disk' is not a tier"),
    ({"linger_ms": -1}, "linger_ms: Input should be greater than or equal to 0"),
])
def test_a_bad_writer_thread_is_one_line_naming_it(writer, message):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(_with_writer(**writer), "bad.yaml")
    assert message in str(error.value) and "\n" not in str(error.value)
