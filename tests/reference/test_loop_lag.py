"""reference.loop_lag: the loop's lag probe, its lifespan, the switch interval."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from reference import loop_lag


def _lags_around(block_s: float, interval_s: float = 0.01, run_s: float = 0.1) -> list[float]:
    """The probe's observations on a loop that is blocked ``block_s`` once, midway."""
    seen: list[float] = []

    async def main() -> None:
        probe = loop_lag.LoopLagProbe(asyncio.get_running_loop(), interval_s, seen.append).start()
        await asyncio.sleep(run_s / 2)
        time.sleep(block_s)  # the loop's thread busy: the probe's next call is late
        await asyncio.sleep(run_s / 2)
        probe.stop()

    asyncio.run(main())
    return seen


def test_a_blocked_loop_is_seen_late_by_the_block_less_what_was_left_of_the_interval():
    lags = _lags_around(block_s=0.05)
    # the block began somewhere in a 10 ms interval: the late call ran 40-50 ms after its time
    assert 0.035 <= max(lags) <= 0.08
    assert sorted(lags)[len(lags) // 2] < 0.005  # the other calls on time (a shared machine: 5 ms)
    assert all(lag >= 0 for lag in lags)


def test_the_probe_calls_every_interval_and_stops():
    lags = _lags_around(block_s=0.0, interval_s=0.01, run_s=0.1)
    assert 6 <= len(lags) <= 11  # ~10 calls in 100 ms (fewer if the machine is slow)


def test_the_lifespan_observes_into_the_histogram_and_zero_means_no_probe():
    from prometheus_client import REGISTRY

    def count() -> float:
        return REGISTRY.get_sample_value("yanxiu_loop_lag_seconds_count") or 0.0

    async def serve(interval_s: float) -> None:
        async with loop_lag.lifespan(interval_s)(None):
            await asyncio.sleep(0.055)

    before = count()
    asyncio.run(serve(0.01))
    observed = count() - before
    assert 3 <= observed <= 6
    asyncio.run(serve(0.0))
    assert count() - before == observed


@pytest.fixture
def switch_interval():
    saved = sys.getswitchinterval()
    yield
    sys.setswitchinterval(saved)


def test_the_switch_interval_is_set_by_the_setting_and_left_alone_without_it(switch_interval, tmp_path):
    from reference.main import create_app
    from reference.settings import Settings
    from tests.conftest import SMOKE

    sys.setswitchinterval(0.005)
    base = {"database_url": f"sqlite:///{tmp_path / 'lag.sqlite'}", "scenario": SMOKE,
            "secret": "lag-secret-" + "x" * 20}
    create_app(Settings(**base)).state.yanxiu.db.dispose()
    assert sys.getswitchinterval() == pytest.approx(0.005)
    create_app(Settings(**base, switch_interval_s=0.0005)).state.yanxiu.db.dispose()
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert Settings.from_env({"YANXIU_SWITCH_INTERVAL_S": "0.0005"}).switch_interval_s == 0.0005
