"""A request's CPU by its own tasks' steps and thread-pool calls (reference.route_cpu): two
requests that interleave on one loop are each charged their own CPU, not the wall or thread
time around their awaits, which holds the other's."""

from __future__ import annotations

import asyncio
import time

import anyio.to_thread
import pytest

from reference import route_cpu


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def _request(burn_s: float, pool_s: float, out: dict[str, float], name: str) -> None:
    _burn(burn_s / 2)
    await asyncio.sleep(0)  # suspends: the other request's step runs here
    await anyio.to_thread.run_sync(_burn, pool_s)
    _burn(burn_s / 2)
    spent = route_cpu.spent()
    assert spent is not None
    out[name] = spent


async def _two_requests() -> tuple[dict[str, float], float]:
    route_cpu.install()
    out: dict[str, float] = {}
    started = time.thread_time()
    heavy = asyncio.get_running_loop().create_task(_request(0.060, 0.0, out, "heavy"))
    light = asyncio.get_running_loop().create_task(_request(0.010, 0.020, out, "light"))
    await asyncio.gather(heavy, light)
    return out, time.thread_time() - started


def test_interleaved_requests_each_charged_their_own_cpu():
    out, loop_thread_s = asyncio.run(_two_requests())
    assert out["heavy"] == pytest.approx(0.060, abs=0.006)
    # 10 ms on the loop and 20 ms on a pool thread; not the heavy one's 60 ms between its steps
    assert out["light"] == pytest.approx(0.030, abs=0.006)
    assert loop_thread_s >= 0.069  # the loop thread did run both loop parts


async def _stale_context() -> tuple[float, float]:
    """A task created by a callback that runs in the context of a request that is over (as
    uvicorn's next keep-alive request is) starts its own account."""
    route_cpu.install()
    done = asyncio.Event()
    spent: dict[str, float] = {}

    async def first() -> None:
        _burn(0.030)
        spent["first"] = route_cpu.spent() or 0.0
        asyncio.get_running_loop().call_soon(lambda: spawn())  # the callback keeps this context

    async def second() -> None:
        _burn(0.005)
        spent["second"] = route_cpu.spent() or 0.0
        done.set()

    def spawn() -> None:
        asyncio.get_running_loop().create_task(second())

    await asyncio.get_running_loop().create_task(first())
    await asyncio.wait_for(done.wait(), 5)
    return spent["first"], spent["second"]


def test_a_task_from_a_finished_requests_context_is_not_charged_to_it():
    first, second = asyncio.run(_stale_context())
    assert first == pytest.approx(0.030, abs=0.005)
    assert second == pytest.approx(0.005, abs=0.004)


async def _child_task() -> float:
    route_cpu.install()

    async def child() -> None:
        _burn(0.020)

    async def request() -> float:
        _burn(0.010)
        await asyncio.wait_for(child(), 5)  # a task of its own (Python 3.11), the request's work
        return route_cpu.spent() or 0.0

    return await asyncio.get_running_loop().create_task(request())


def test_a_child_task_of_a_request_counts_for_it():
    assert asyncio.run(_child_task()) == pytest.approx(0.030, abs=0.005)


def test_outside_a_timed_task_nothing_is_charged():
    assert route_cpu.spent() is None


@pytest.mark.parametrize("kind", ["loop", "thread"])
def test_the_group_commits_cpu_is_counted_in_the_thread_that_ran_them(database_url, kind):
    """yanxiu_commit_cpu_seconds_total: a heartbeat's write runs in the commit (the loop's flush
    or the committer's thread), outside its request's task, so the route's CPU lacks it."""
    from prometheus_client import REGISTRY

    from reference.committer import LoopCommitter, ThreadCommitter
    from reference.db import Database

    db = Database(database_url)
    db.create_all()
    committer = LoopCommitter(db) if kind == "loop" else ThreadCommitter(db)

    def job(session):  # a write that costs 20 ms of the committing thread's CPU
        _burn(0.020)
        return 1

    before = REGISTRY.get_sample_value("yanxiu_commit_cpu_seconds_total") or 0.0

    async def submit() -> int:
        return await committer.submit(job)

    try:
        assert asyncio.run(submit()) == 1
    finally:
        db.dispose()
    spent = (REGISTRY.get_sample_value("yanxiu_commit_cpu_seconds_total") or 0.0) - before
    assert 0.020 <= spent < 0.060


def _probe(route_cpu_on: bool, tmp_path) -> tuple[dict, float | None]:
    """A request through the whole app (create_app, its middleware) built with the setting:
    whether its loop's tasks were timed and what the request's account said, and the
    endpoint's yanxiu_route_cpu_seconds_total after it."""
    from fastapi.testclient import TestClient
    from prometheus_client import REGISTRY

    from reference.main import create_app
    from reference.settings import Settings
    from tests.conftest import SMOKE

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'probe.sqlite'}", scenario=SMOKE,
                        secret="probe-secret-" + "x" * 20, route_cpu=route_cpu_on)
    app = create_app(settings)
    name = f"route_cpu_probe_{route_cpu_on}"

    async def probe() -> dict:
        _burn(0.002)
        return {"timed": route_cpu.installed(), "spent": route_cpu.spent()}

    app.add_api_route("/probe", probe, name=name)
    try:
        with TestClient(app) as client:
            answer = client.get("/probe").json()
    finally:
        app.state.yanxiu.db.dispose()
    return answer, REGISTRY.get_sample_value("yanxiu_route_cpu_seconds_total", {"endpoint": name})


@pytest.mark.parametrize("on", [True, False])
def test_the_setting_puts_in_or_leaves_out_the_task_factory(tmp_path, on):
    answer, counted = _probe(on, tmp_path)
    assert answer["timed"] is on
    if on:
        assert answer["spent"] >= 0.002 and counted is not None and counted >= 0.002
    else:  # no factory: no account, nothing counted, not even a zero sample for the endpoint
        assert answer["spent"] is None and counted is None
