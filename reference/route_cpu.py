"""CPU seconds each request spent, by route: ``yanxiu_route_cpu_seconds_total{endpoint}``.

Issue 12: the calibration's utilisation-law fit cannot tell the api's per-endpoint CPU from its
event loop's per-wake-up cost (heartbeats are most requests and nearly one a wake-up), nor the
sign-in from the campaign page (one each per session). The server can say what it spent.

What is attributable, and how it is measured:
- on the event loop, a request is a task (uvicorn's ``run_asgi``): each step of its coroutine
  (from one ``await`` that suspends to the next) runs alone on the loop's thread, so the
  thread's CPU clock read around each step is that request's CPU and no one else's. Wall or
  thread time around the whole awaited handler would include the other requests' steps that
  interleave with it. A task factory (``install``) wraps every task's coroutine so; a task
  created by a request's task (``asyncio.wait_for``'s) counts for the same request.
- on the thread pool (the sync routes and dependencies: ``anyio.to_thread.run_sync``, which
  Starlette's ``run_in_threadpool`` calls), the pool thread's CPU clock around the call, added
  to the request that awaits it (the request's account travels in a context variable, which
  anyio copies into the thread).
Not attributed, and left to the fit (``calibrate.routecpu``): the loop's own work between
tasks (the selector, HTTP parsing in uvicorn's protocol callbacks, timers) and callbacks and
threads that serve several requests at once (the group commits: ``reference.committer``).

The CPU clock is ``time.thread_time`` (CLOCK_THREAD_CPUTIME_ID): a few hundred ns a read, two
reads a step: microseconds a request against its milliseconds.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import functools
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import anyio.to_thread
from prometheus_client import Counter

ROUTE_CPU = Counter(
    "yanxiu_route_cpu_seconds",
    "CPU seconds the requests of an endpoint spent in their own tasks and thread-pool calls",
    ["endpoint"],
)


class Account:
    """One request's CPU so far: its tasks' steps on the loop thread, and its pool calls."""

    __slots__ = ("loop_s", "pool_s", "step_started")

    def __init__(self) -> None:
        self.loop_s = 0.0
        self.pool_s = 0.0  # written by pool threads only (one at a time: a request awaits each call)
        self.step_started: float | None = None

    def spent(self) -> float:
        """Seconds so far, the step running now included up to this instant."""
        running = time.thread_time() - self.step_started if self.step_started is not None else 0.0
        return self.loop_s + self.pool_s + running


_ACCOUNT: contextvars.ContextVar[Account | None] = contextvars.ContextVar("yanxiu_route_cpu", default=None)


class _Timed(collections.abc.Coroutine):  # type: ignore[type-arg]
    """A task's coroutine, every step of it timed on the thread's CPU clock into ``account``."""

    __slots__ = ("_coro", "_account")

    def __init__(self, coro: Coroutine[Any, Any, Any], account: Account) -> None:
        self._coro, self._account = coro, account

    def _step(self, run: Callable[[], Any]) -> Any:
        account = self._account
        _ACCOUNT.set(account)  # in the task's own context: its awaits and pool calls see it
        outer = account.step_started  # a child task's step inside none of the parent's: None
        account.step_started = started = time.thread_time()
        try:
            return run()
        finally:
            account.loop_s += time.thread_time() - started
            account.step_started = outer

    def send(self, value: Any) -> Any:
        return self._step(functools.partial(self._coro.send, value))

    def throw(self, *args: Any) -> Any:
        return self._step(functools.partial(self._coro.throw, *args))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    if not isinstance(coro, collections.abc.Coroutine):  # a generator-based coroutine: untimed
        return asyncio.Task(coro, loop=loop, **kwargs)
    # a task created in a step of a request's task (``asyncio.wait_for``'s) counts for that
    # request; any other starts its own account: a callback can run in the context of a request
    # that is over (uvicorn resumes a keep-alive connection's reading from the request's task,
    # and the next request's task is created in that reader's copy of the context)
    parent = _ACCOUNT.get()
    account = parent if parent is not None and parent.step_started is not None else Account()
    return asyncio.Task(_Timed(coro, account), loop=loop, **kwargs)


_original_run_sync = anyio.to_thread.run_sync


async def _run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    account = _ACCOUNT.get()
    if account is None or account.step_started is None:  # not called from a request's step
        return await _original_run_sync(func, *args, **kwargs)

    def timed(*call: Any) -> Any:
        started = time.thread_time()
        try:
            return func(*call)
        finally:
            account.pool_s += time.thread_time() - started

    return await _original_run_sync(timed, *args, **kwargs)


def install() -> None:
    """Time the running loop's tasks and the thread pool's calls from now on (idempotent). Called
    by the metrics middleware on the app's first scope (the lifespan's, before any request)."""
    loop = asyncio.get_running_loop()
    if loop.get_task_factory() is None:
        loop.set_task_factory(_task_factory)
    if anyio.to_thread.run_sync is not _run_sync:
        anyio.to_thread.run_sync = _run_sync  # type: ignore[assignment]


def spent() -> float | None:
    """The current request's CPU seconds so far; None outside a timed task."""
    account = _ACCOUNT.get()
    return account.spent() if account is not None else None
