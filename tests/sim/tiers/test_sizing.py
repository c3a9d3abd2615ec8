"""Sizing: the capacity found meets the SLO and one server fewer does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.tiers.platform import Platform
from sim.tiers.sizing import compliance, servers_needed, size, violations


def _run(platform: Platform, peak: float) -> dict[str, np.ndarray]:
    shape = np.array([0.1, 0.4, 1.0, 0.7, 0.2])
    base = {"heartbeat": 3000.0, "login": 400.0, "campaign_page": 900.0, "sms_send": 250.0,
            "school_search": 300.0, "register": 120.0, "admin_progress": 20.0}
    return {k: v * peak * shape for k, v in base.items()}


@pytest.mark.parametrize("peak", [0.3, 1.0, 4.0])
def test_needed_and_minimum_servers_meet_the_slo_and_one_fewer_does_not(winter, peak):
    platform = Platform(winter)
    rps = _run(platform, peak)
    capacity = size(platform, rps, np.full(5, 100.0))
    matrix = platform.matrix(rps)
    for name in ("api", "database", "sms_gateway"):
        found = capacity[name]
        tier = platform.tier(name)
        minute = matrix[:, [found.at]]
        assert found.unit == "servers" and found.needed >= 1
        assert violations(tier, minute, int(found.needed)) == []
        assert found.binding in violations(tier, minute, int(found.needed) - 1)
        # every other candidate minute is also fine with that many servers
        for m in range(5):
            assert violations(tier, matrix[:, [m]], int(found.needed)) == []
        assert found.margin == pytest.approx(tier.servers / found.needed - 1)
        # the minimum (latency targets, no utilisation cap) meets them, one fewer does not
        assert 1 <= found.minimum <= found.needed
        assert all(violations(tier, matrix[:, [m]], int(found.minimum), headroom=False) == []
                   for m in range(5))
        assert any(violations(tier, matrix[:, [m]], int(found.minimum) - 1, headroom=False)
                   for m in range(5))


def test_latency_target_can_bind_before_utilisation(smoke):
    """The single-server SMS gateway: 250 ms codes, p95 <= 3 s; at low load the utilisation cap
    (80%) is loose and the p95 target sets the count, or vice versa."""
    platform = Platform(smoke)
    tier = platform.tier("sms_gateway")
    minute = platform.matrix({"sms_send": np.array([30.0])})  # 7.5 Erlangs
    servers, binding = servers_needed(tier, minute)
    assert servers >= math.ceil(7.5 / 0.8)
    assert violations(tier, minute, servers) == [] and violations(tier, minute, servers - 1)
    assert binding in ("max_utilisation", "p95_ms")


def test_unreachable_latency_target_needs_infinite_servers(smoke):
    platform = Platform(smoke)
    api = platform.tier("api")
    strict = api.slo.model_copy(update={"p95_ms": 50.0})  # login's service alone has p95 165 ms
    api.slo = strict
    try:
        servers, binding = servers_needed(api, platform.matrix({"login": np.array([10.0])}))
    finally:
        api.slo = platform.scenario.service_levels.tiers["api"]
    assert math.isinf(servers) and binding == "p95_ms"


def test_bandwidth_needed_is_peak_over_max_utilisation(smoke):
    platform = Platform(smoke)
    egress = np.array([0.2, 1.6, 0.9])
    video = size(platform, {}, egress)["video_cdn"]
    assert video.unit == "Gbps" and video.at == 1
    assert video.needed == pytest.approx(1.6 / 0.8)
    assert video.margin == pytest.approx(1.0 / 2.0 - 1)
    assert video.minimum == pytest.approx(1.6)  # no headroom: the peak egress itself


def test_compliance_counts_minutes_meeting_every_target(smoke):
    platform = Platform(smoke)
    rates = np.array([0.5, 10.0, 40.0, 70.0, 90.0])  # api 4 x 55 ms: the last two are hot
    series = platform.evaluate({"login": rates}, np.zeros(5))
    report = compliance(platform, series)["api"]
    p95, p99 = series["api"].p95_ms[1:], series["api"].p99_ms[1:]
    ok = (p95 <= 300) & (p99 <= 1000)
    assert report.judged_minutes == 4  # 0.5 requests/s is too thin to judge
    assert report.compliant_minutes_share == pytest.approx(ok.mean())
    assert report.compliant_requests_share == pytest.approx(rates[1:][ok].sum() / rates[1:].sum())
    assert 0 < report.compliant_minutes_share < 1 and not report.compliant
    assert report.worst["p95_ms"] == pytest.approx(p95.max())


def test_summary_sections_follow_the_results_contract(smoke):
    from sim.tiers.sizing import summary_sections

    platform = Platform(smoke)
    rates = {"login": np.array([10.0, 40.0, 70.0]), "sms_send": np.array([0.5, 1.0, 2.0])}
    egress = np.array([0.2, 0.5, 0.9])
    series = platform.evaluate(rates, egress)
    labels = ["2023-01-03T00:00", "2023-01-03T00:01", "2023-01-03T00:02"]
    out = summary_sections(platform, rates, egress, series, labels)
    assert set(out["slo"]) == set(out["capacity"]) == {"api", "database", "sms_gateway",
                                                       "video_cdn"}
    api = out["slo"]["api"]
    assert {"p95_ms", "target_p95_ms", "compliant_minutes_share", "compliant"} <= set(api)
    assert series["api"].p95_ms.min() <= api["p95_ms"] <= series["api"].p95_ms.max()
    assert {"needed", "provided", "unit", "margin", "at", "minimum"} <= set(out["capacity"]["api"])
    assert out["capacity"]["video_cdn"]["at"] == labels[2]
    assert out["metrics"]["p95(latency.api)"] == api["p95_ms"]
    assert out["metrics"]["max(utilisation.api)"] == pytest.approx((70 * 0.055 + 2 * 0.006) / 4)


# --- the minimum: latency targets alone, no headroom (M/M/c computed here from its formulas) ---


def _erlang_c(c: int, a: float) -> float:
    """Erlang C from the Erlang B recursion B(k) = a·B(k-1) / (k + a·B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1 - b))


def _mmc_p95_s(lam: float, s: float, c: int) -> float:
    """p95 of the M/M/c response W + S: W is 0 with probability 1 - C, else Exp(theta)."""
    from scipy.optimize import brentq

    mu, pw = 1 / s, _erlang_c(c, lam * s)
    theta = c * mu - lam

    def tail(t: float) -> float:  # P(S + Exp(theta) > t): hypoexponential, Erlang-2 if equal
        if math.isclose(theta, mu):
            both = math.exp(-mu * t) * (1 + mu * t)
        else:
            both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - pw) * math.exp(-mu * t) + pw * both - 0.05

    return brentq(tail, 0.0, 100.0, xtol=1e-9)


def _single_tier(p95_ms: float | None, max_utilisation: float):
    from domain import scenario as sc
    from sim.tiers.platform import PoolTier

    slo = sc.TierSlo(p95_ms=p95_ms, max_utilisation=max_utilisation)
    return PoolTier(sc.PoolTier(name="api", servers=100), np.array([0.05]), slo)


@pytest.mark.parametrize("lam, target_ms", [(200.0, 200.0), (200.0, 160.0), (1000.0, 170.0)])
def test_minimum_is_the_fewest_servers_meeting_the_latency_target_by_erlang_c(lam, target_ms):
    """One exponential endpoint (50 ms) is exactly M/M/c: the minimum is the smallest c above the
    load whose p95 response meets the target, computed here from Erlang C; the plan with a 50%
    utilisation cap needs more, and one server below the minimum breaks the target."""
    tier = _single_tier(target_ms, 0.5)
    minute = np.array([[lam]])
    a = lam * 0.05
    theory = next(c for c in range(math.floor(a) + 1, 10 * math.ceil(a))
                  if _mmc_p95_s(lam, 0.05, c) * 1000.0 <= target_ms)
    assert theory > math.floor(a) + 1  # the target, not the load, sets it in these cases
    minimum, binding = servers_needed(tier, minute, headroom=False)
    assert (minimum, binding) == (theory, "p95_ms")
    needed, _ = servers_needed(tier, minute)
    assert minimum <= needed and needed >= math.ceil(a / 0.5)
    assert violations(tier, minute, theory, headroom=False) == []
    assert "p95_ms" in violations(tier, minute, theory - 1, headroom=False)


def test_with_a_loose_target_the_minimum_is_the_fewest_servers_above_the_load():
    tier = _single_tier(None, 0.5)
    minute = np.array([[200.0]])  # 10 Erlangs: 10 servers never catch up, 11 do
    assert servers_needed(tier, minute, headroom=False) == (11, "saturation")
    assert servers_needed(tier, minute) == (20, "max_utilisation")
    assert violations(tier, minute, 10, headroom=False) == ["saturation"]



def test_missed_minutes_name_the_requests_that_make_them(winter):
    """A quiet minute of administrators' reports (40 ms at the database in winter-2023, p95 ~120 ms
    against 50) misses the target while the busy minutes of heartbeats meet it: the summary names
    admin_progress and its share of the database's requests in the missed minutes."""
    from sim.tiers.sizing import summary_sections

    platform = Platform(winter)
    rates = {"heartbeat": np.array([3000.0, 2.0, 3000.0]), "admin_progress": np.array([5.0, 8.0, 5.0])}
    egress = np.full(3, 1.0)
    series = platform.evaluate(rates, egress)
    slo = summary_sections(platform, rates, egress, series)["slo"]["database"]
    assert series["database"].p95_ms[1] > 50 >= series["database"].p95_ms[0]
    assert slo["compliant_minutes_share"] == pytest.approx(2 / 3)
    assert slo["missed_minutes_endpoint"] == "admin_progress"
    assert slo["missed_minutes_endpoint_share"] == pytest.approx(8 / 10)
    # a tier that missed nothing names nothing
    assert "missed_minutes_endpoint" not in summary_sections(platform, {"heartbeat": np.full(3, 100.0)},
                                                             egress, platform.evaluate(
                                                                 {"heartbeat": np.full(3, 100.0)}, egress)
                                                             )["slo"]["database"]
