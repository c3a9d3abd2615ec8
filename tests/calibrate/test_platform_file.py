"""The platform file: a scenario overlay that loads, measured numbers with provenance, the
scenario's estimates kept (and marked) where nothing was measured or identified."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibrate.errors import CalibrationError
from calibrate.fit import Demand, TierFit
from calibrate.platform_file import check_writable, render, write
from calibrate.platform_lines import demand_lines
from domain.scenario import load_scenario

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"
PROVENANCE = {"target": "reference platform (SQLite, 2 workers)", "target_kind": "reference platform",
              "commit": "abc1234", "date": "2026-11-30T02:00:00+00:00", "steps": 6, "step_seconds": 20.0,
              "requests": 2010}


def _fits(scenario) -> dict[str, TierFit]:
    demands = {e.name: Demand(0.0, 0.0, 0.0, 0) for e in scenario.platform.endpoints}
    demands["heartbeat"] = Demand(3.3, 1.4, 4.1, 1154)
    demands["test_fetch"] = Demand(0.0, 0.0, 63.6, 45)  # 0, but the interval reaches 63.6 ms
    demands["login"] = Demand(60.0, 50.0, 70.0, 12)  # too few requests
    return {"api": TierFit("api", 0.01, demands, 0.94, 49)}


def test_platform_file_loads_as_the_scenario_with_measured_numbers(tmp_path):
    scenario = load_scenario(SMOKE)
    tiers = {"api": {"servers": 2, "service": "exponential", "note": "servers: worker processes"}}
    out = tmp_path / "platform.yaml"
    text = render(scenario, SMOKE, out, tiers, demand_lines(scenario, _fits(scenario)), PROVENANCE)
    write(out, text, PROVENANCE, force=False)
    calibrated = load_scenario(out)
    assert calibrated.name == scenario.name
    assert calibrated.platform.tier("api").servers == 2
    assert calibrated.platform.endpoint("heartbeat").demand_ms["api"] == pytest.approx(3.3)
    # not identified and too few requests: the scenario's estimates stay, marked why
    assert calibrated.platform.endpoint("test_fetch").demand_ms["api"] == 6
    assert calibrated.platform.endpoint("login").demand_ms["api"] == 55
    assert "not identified: 0 with interval [0, 63.6] ms" in text
    assert "12 requests seen" in text
    assert "# measured [1.4, 4.1] ms, 1,154 requests" in text
    assert "git commit abc1234" in text and (tmp_path / "platform.json").is_file()


def test_never_overwrites_without_force(tmp_path):
    out = tmp_path / "platform.yaml"
    out.write_text("mine\n")
    with pytest.raises(CalibrationError, match="use --force"):
        check_writable(out, force=False)
    check_writable(out, force=True)


def test_the_reference_s_missing_sms_vendor_is_written_as_no_demand(tmp_path):
    """The reference platform is api workers and one database: its SMS gateway records the
    text in the database, so the scenario's vendor (sms_gateway, 250 ms a code) is not part of
    what a load test of it meets, and the calibrated prediction must not wait for it."""
    from types import SimpleNamespace

    from calibrate.platform_lines import tier_lines
    from calibrate.target import REFERENCE_HAS_NO

    scenario = load_scenario(SMOKE)
    target = SimpleNamespace(absent=REFERENCE_HAS_NO, api_servers=2, probes=SimpleNamespace(
        api_tier="api", database_tier="database", sources={"api": "psutil"}))
    tiers = tier_lines(scenario, target, _fits(scenario))
    out = tmp_path / "platform.yaml"
    text = render(scenario, SMOKE, out, tiers, demand_lines(scenario, _fits(scenario), target), PROVENANCE)
    write(out, text, PROVENANCE, force=False)
    calibrated = load_scenario(out)
    # left out: not visited (a 0 would be a visit at no cost of its own)
    assert not calibrated.platform.endpoint("sms_send").visits("sms_gateway")
    assert f"# sms_gateway: not visited ({REFERENCE_HAS_NO})" in text
    assert calibrated.platform.endpoint("sms_send").demand_ms["api"] == 6  # the others as before
    # a target that does not say (staging, --host) keeps the scenario's vendor
    host = SimpleNamespace(absent=None, api_servers=2, probes=target.probes)
    assert "sms_gateway" not in tier_lines(scenario, host, _fits(scenario))
    assert load_scenario(SMOKE).platform.endpoint("sms_send").demand_ms["sms_gateway"] == 250
    kept = demand_lines(scenario, _fits(scenario), host)["sms_send"]
    assert "sms_gateway" not in kept


def test_the_header_gives_the_holds_apart_from_the_staircase_steps(tmp_path):
    """A hold (the knee's confirmation) lasts 60-120 s; "8 steps of 20 s" would misstate the run."""
    scenario = load_scenario(SMOKE)
    hold = "2023-01-05T19:30/20:30"
    results = [{"seconds": 20.0, "stretch": None}] * 6 + [{"seconds": 83.0, "stretch": hold},
                                                          {"seconds": 97.0, "stretch": hold}]
    provenance = {**PROVENANCE, "steps": 8, "step_results": results}
    text = render(scenario, SMOKE, tmp_path / "platform.yaml", {}, {}, provenance)
    assert "# 6 steps of 20 s and 2 holds of 83-97 s, 2,010 requests;" in text
    plain = render(scenario, SMOKE, tmp_path / "p.yaml", {}, {}, PROVENANCE)
    assert "# 6 steps of 20 s, 2,010 requests;" in plain


def test_the_provenance_says_what_the_steps_ran_beside():
    """The api's CPU per request grows with the host's other work: the platform file records the
    steps' background (host CPU less the server's), weighted by their wall time, with and without
    the load generator, so that a validation on a busier machine can be told apart."""
    from calibrate.platform_file import background, generator_cores

    assert generator_cores({"generator_cpu": {"mean": 30.0, "processes": 2}}) == pytest.approx(0.6)
    assert generator_cores({"generator_cpu": {"mean": None}}) is None
    steps = [{"background_cores": 0.3, "generator_cores": 0.1, "wall_s": 30.0, "host_cores": 2},
             {"background_cores": 1.3, "generator_cores": 0.2, "wall_s": 90.0, "host_cores": 2},
             {"background_cores": None, "wall_s": 1000.0}]  # not sampled: left out
    found = background(steps)
    assert found["mean_cores"] == pytest.approx((0.3 * 30 + 1.3 * 90) / 120, abs=1e-3)
    assert found["other_cores"] == pytest.approx((0.2 * 30 + 1.1 * 90) / 120, abs=1e-3)
    assert found["max_other_cores"] == pytest.approx(1.1) and found["host_cores"] == 2
    assert background([{"background_cores": None}]) is None


def test_the_header_names_the_background_or_that_it_was_not_sampled(tmp_path):
    scenario = load_scenario(SMOKE)
    provenance = {**PROVENANCE, "background": {"host_cores": 2, "mean_cores": 0.4, "max_cores": 0.9,
                                               "other_cores": 0.25, "max_other_cores": 0.7, "steps": 8}}
    text = render(scenario, SMOKE, tmp_path / "platform.yaml", {}, {}, provenance)
    assert "# Beside 0.25 cores of other work on the host's 2 (mean over the steps, max 0.70" in text
    assert "not sampled" in render(scenario, SMOKE, tmp_path / "p.yaml", {}, {}, PROVENANCE)
