"""reference.session_gate: a free slot is taken at once, without a task of its own; a full gate
makes a request wait, in arrival order, until a slot frees or ``wait_s`` passes (then 503)."""

from __future__ import annotations

import asyncio

import pytest

from reference.errors import ApiError
from reference.session_gate import SessionGate


def _counting_tasks(loop: asyncio.AbstractEventLoop) -> list[int]:
    made: list[int] = []

    def factory(loop, coro, **kwargs):
        made.append(1)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    return made


def test_a_free_slot_is_taken_without_a_task():
    async def scenario() -> tuple[int, int, int]:
        gate = SessionGate(2)
        made = _counting_tasks(asyncio.get_running_loop())
        first = await gate.acquire()
        second = await gate.acquire()
        taken = len(made)
        assert first is second and first.locked()
        first.release()
        second.release()
        return taken, first._value, len(made)  # type: ignore[attr-defined]

    taken, left, made = asyncio.run(scenario())
    assert (taken, left, made) == (0, 2, 0)


def test_a_full_gate_waits_for_a_slot_and_serves_the_waiters_in_order():
    async def scenario() -> list[str]:
        gate = SessionGate(1, wait_s=5.0)
        held = await gate.acquire()
        order: list[str] = []

        async def request(name: str) -> None:
            slot = await gate.acquire()
            order.append(name)
            await asyncio.sleep(0.01)
            slot.release()

        first = asyncio.ensure_future(request("first"))
        await asyncio.sleep(0.01)  # "first" waits at the gate
        held.release()  # the slot is first's; "second" arrives before first has run
        second = asyncio.ensure_future(request("second"))
        await asyncio.wait_for(asyncio.gather(first, second), 5)
        return order

    assert asyncio.run(scenario()) == ["first", "second"]


def test_a_request_gets_a_slot_freed_within_the_wait_and_503_after_it():
    async def scenario() -> tuple[float, float, ApiError]:
        loop = asyncio.get_running_loop()
        gate = SessionGate(1, wait_s=2.0)
        held = await gate.acquire()
        loop.call_later(0.05, held.release)
        started = loop.time()
        slot = await gate.acquire()  # freed after 0.05 s, inside the wait
        waited = loop.time() - started
        gate.wait_s = 0.2
        started = loop.time()
        with pytest.raises(ApiError) as refused:
            await gate.acquire()  # nobody frees it
        refused_after = loop.time() - started
        slot.release()
        return waited, refused_after, refused.value

    waited, refused_after, refused = asyncio.run(scenario())
    assert 0.04 <= waited < 2.0 and 0.2 <= refused_after < 2.0
    assert refused.status == 503 and refused.extra["retry_after_s"] == 1
