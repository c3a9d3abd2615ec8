"""The platform's tiers: per-minute figures, overload carry-over, bandwidth, feedback state."""

from __future__ import annotations

import numpy as np
import pytest

from sim.tiers import queueing as q
from sim.tiers.platform import METRICS, Platform


def _login_only(platform: Platform, rate) -> dict:
    return {"login": np.asarray(rate, float)}


def test_columns_follow_the_results_contract(smoke):
    platform = Platform(smoke)
    series = platform.evaluate({"heartbeat": np.ones(5)}, np.zeros(5))
    assert platform.tier_names == ["api", "database", "sms_gateway", "video_cdn"]
    expected = {f"tier.{t}.{m}" for t in platform.tier_names for m in METRICS}
    assert set(series.columns()) == expected
    assert all(v.shape == (5,) for v in series.columns().values())


def test_one_class_pool_is_exactly_erlang_c(smoke):
    platform = Platform(smoke)
    rates = np.array([10.0, 40.0, 60.0, 70.0])  # api: 4 servers x 55 ms
    api = platform.evaluate(_login_only(platform, rates), 0.0)["api"]
    np.testing.assert_allclose(api.utilisation, rates * 0.055 / 4)
    np.testing.assert_allclose(api.wait_ms, q.mean_wait(rates, 0.055, 4) * 1000, rtol=1e-9)
    np.testing.assert_allclose(api.p95_ms, q.response_percentile(0.95, rates, 0.055, 4) * 1000,
                               rtol=2e-4)
    assert np.all(np.diff(api.p99_ms) > 0) and np.all(api.p99_ms > api.p95_ms)


def test_vectorised_evaluate_equals_the_minute_by_minute_loop(smoke):
    platform = Platform(smoke)
    rng = np.random.default_rng(2)
    rps = {name: rng.uniform(0, 30, 50) for name in platform.endpoints}
    rps["login"][20:25] = 120.0  # an overload of the api: backlog carried over
    series = platform.evaluate(rps, rng.uniform(0, 2, 50))
    state = None
    for minute in range(50):
        state = platform.state({k: v[minute] for k, v in rps.items()}, 1.0, previous=state)
        assert state.utilisation("api") == pytest.approx(series["api"].utilisation[minute])
        assert state.backlog_s("api") == pytest.approx(series["api"].backlog_s[minute])


def test_overload_builds_a_backlog_that_drains_later(smoke):
    platform = Platform(smoke)
    rates = np.array([40.0, 100.0, 100.0, 40.0, 40.0, 40.0])  # api rho: 0.55, 1.375, ..., 0.55
    api = platform.evaluate(_login_only(platform, rates), 0.0)["api"]
    calm = float(q.mean_wait(40.0, 0.055, 4)) * 1000
    assert api.wait_ms[0] == pytest.approx(calm)
    assert api.wait_ms[2] > api.wait_ms[1] > 1000  # the queue keeps growing while overloaded
    assert api.wait_ms[3] > 100 * calm  # the minute after still drains the backlog
    assert api.wait_ms[-1] == pytest.approx(calm)  # and then it is gone
    # patience (abandon_after_s = 10 s) caps the wait; the excess is not served
    assert api.backlog_s.max() == pytest.approx(smoke.behaviour.overload.abandon_after_s)
    assert api.served_share[2] < 1.0 and api.served_share[0] == 1.0


def test_feedback_state_for_teachers(smoke):
    platform = Platform(smoke)
    calm = platform.state({"login": 20.0, "sms_send": 1.0}, 0.5)
    busy = platform.state({"login": 70.0, "sms_send": 3.9}, 0.5)
    assert calm.response_s("login") == pytest.approx(
        float(q.mean_wait(20.0, 0.055, 4)) + 0.055 + 0.002 + float(q.mean_wait(20.0, 0.002, 2)),
        rel=0.05)
    assert busy.response_s("login") > calm.response_s("login")
    tail = [busy.p_slower_than("login", s) for s in (0.05, 0.2, 1.0, 5.0)]
    assert all(a >= b for a, b in zip(tail, tail[1:], strict=False)) and tail[0] > tail[-1]
    assert busy.sms_delay_s() > 10 * calm.sms_delay_s()  # gateway near saturation
    overloaded = platform.state({"sms_send": 8.0}, 0.5)  # 2x the gateway's capacity
    assert overloaded.p_slower_than("sms_send", smoke.behaviour.overload.sms_resend_after_s) \
        < overloaded.p_slower_than("sms_send", 1.0)
    assert overloaded.sms_delay_s() > 5.0
    assert calm.video_ok() == 1.0


def test_bandwidth_shares_the_link_max_min_fairly(smoke):
    """Ladder 540p (1000+96 kbps, 60%) and 720p (1900+96 kbps, 40%), 1 Gbps of capacity."""
    platform = Platform(smoke)
    video = platform.evaluate({}, np.array([0.5, 1.1, 1.5]))["video_cdn"]
    np.testing.assert_allclose(video.utilisation, [0.5, 1.1, 1.5])
    # 1.1 Gbps: fair share f solves 0.6·1096 + 0.4·f = 1456/1.1 -> f = 1665 kbps
    np.testing.assert_allclose(video.served_share, [1.0, 0.6, 0.0])
    fair = (1456 / 1.1 - 0.6 * 1096) / 0.4
    assert video.p95_ms[1] == pytest.approx(6000 * (1996 / fair - 1), rel=1e-6)
    assert video.p50_ms[1] == 0.0 and video.wait_ms[0] == 0.0
    assert platform.state({}, 1.5).video_ok() == 0.0


def test_tiers_are_evaluated_at_full_scale_never_on_a_sample(winter):
    """A 1% sample scales counts linearly but not queueing: the same 90% utilisation on 1% of
    the api's 3,200 servers waits far longer. Platform takes full-scale rates and the
    scenario's full server counts; this pins the difference so nobody 'optimises' it away."""
    platform = Platform(winter)
    api = platform.tier("api")
    rate = 0.9 * api.servers / 0.055  # login only: 90% of the full fleet
    full = platform.evaluate({"login": np.array([rate])}, 0.0)["api"]
    sample = api.with_servers(api.servers // 100).evaluate(
        platform.matrix({"login": np.array([rate / 100])}), np.zeros(1))
    assert full.utilisation[0] == pytest.approx(sample.utilisation[0])
    assert full.wait_ms[0] == pytest.approx(float(q.mean_wait(rate, 0.055, 3200)) * 1000)
    assert sample.wait_ms[0] > 1000 * full.wait_ms[0]  # ~8 ms against ~0
    assert float(q.erlang_c(32, 28.8)) > 0.4 > 1e-6 > float(q.erlang_c(3200, 2880))


def test_bad_rates_are_rejected_with_the_endpoint_named(smoke):
    platform = Platform(smoke)
    with pytest.raises(ValueError, match="unknown endpoint 'nope'"):
        platform.evaluate({"nope": np.ones(3)}, np.zeros(3))
    with pytest.raises(ValueError, match="rps.login: rates must be finite"):
        platform.evaluate({"login": np.array([1.0, -1.0])}, np.zeros(2))
    with pytest.raises(ValueError, match="egress_gbps: must be finite"):
        platform.evaluate({"login": np.ones(2)}, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="different shapes"):
        platform.evaluate({"login": np.ones(3), "heartbeat": np.ones(4)}, np.zeros(3))


def test_run_wide_percentile_is_over_all_requests(smoke):
    """overall_ms(p) solves sum_m rate_m·P_m(T > x) / sum_m rate_m = 1 - p (quiet minutes are
    summed per demand in closed form; busy ones one by one: both must agree with brute force)."""
    platform = Platform(smoke)
    rng = np.random.default_rng(5)
    rps = {name: rng.uniform(0, 10, 200) for name in platform.endpoints}
    rps["login"][50:60] = 75.0  # busy and overloaded minutes among quiet ones
    api = platform.evaluate(rps, np.zeros(200))["api"]
    perf, weights = api.performance, api.load
    def brute(x: float) -> float:
        return float(weights @ perf.tail(np.full(200, x))) / weights.sum()

    for p in (0.5, 0.95, 0.99):
        x = api.overall_ms(p) / 1000  # precise to 1e-4 relative in time
        assert brute(x * (1 - 2e-4)) > 1 - p >= brute(x * (1 + 2e-4))
    assert api.p95_ms.min() < api.overall_ms(0.95) < api.p95_ms.max()


def test_an_idle_run_is_all_zeros(smoke):
    series = Platform(smoke).evaluate({}, np.zeros(3))
    for name in series:
        for values in series.columns().values():
            assert np.all(values == 0.0)
        assert series[name].overall_ms(0.95) == 0.0
