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

Its cost is paid on every request, so the hot path is kept short: the account is put into the
task's context once, when the task is made (not at every step), a step is one method with two
reads of the clock and no objects made, a pool call is wrapped without a closure, and the
metrics middleware keeps the endpoint's labelled counter. The CPU clock is
``time.thread_time`` (CLOCK_THREAD_CPUTIME_ID; a system call, the vDSO does not serve it): a
wall clock would be cheaper but charges a step with the pool threads' work whenever they take
the GIL from it. ``Settings.route_cpu`` (``yanxiu serve --no-route-cpu``) leaves it out.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import anyio.to_thread
from prometheus_client import Counter

ROUTE_CPU = Counter(
    "yanxiu_route_cpu_seconds",
    "CPU seconds the requests of an endpoint spent in their own tasks and thread-pool calls",
    ["endpoint"],
)

_clock = time.thread_time


class Account:
    """One request's CPU so far: its tasks' steps on the loop thread, and its pool calls."""

    __slots__ = ("loop_s", "pool_s", "step_started")

    def __init__(self) -> None:
        self.loop_s = 0.0
        self.pool_s = 0.0  # written by pool threads only (one at a time: a request awaits each call)
        self.step_started: float | None = None  # None between the steps of its tasks

    def spent(self) -> float:
        """Seconds so far, the step running now included up to this instant."""
        running = _clock() - self.step_started if self.step_started is not None else 0.0
        return self.loop_s + self.pool_s + running


_ACCOUNT: contextvars.ContextVar[Account | None] = contextvars.ContextVar("yanxiu_route_cpu", default=None)


class _Timed(collections.abc.Coroutine):  # type: ignore[type-arg]
    """A task's coroutine, every step of it timed on the thread's CPU clock into ``account``."""

    __slots__ = ("_coro", "_send", "_throw", "_account")

    def __init__(self, coro: Coroutine[Any, Any, Any], account: Account) -> None:
        self._coro, self._send, self._throw, self._account = coro, coro.send, coro.throw, account

    # send and throw alike, written out twice: a shared helper would cost a call (or a partial)
    # a step. ``outer``: a step of a task made and run eagerly inside a step of the same request
    # (None otherwise: steps of one loop do not nest).
    def send(self, value: Any) -> Any:
        account = self._account
        outer = account.step_started
        account.step_started = started = _clock()
        try:
            return self._send(value)
        finally:
            account.loop_s += _clock() - started
            account.step_started = outer

    def throw(self, *args: Any) -> Any:
        account = self._account
        outer = account.step_started
        account.step_started = started = _clock()
        try:
            return self._throw(*args)
        finally:
            account.loop_s += _clock() - started
            account.step_started = outer

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, *, context: contextvars.Context | None = None,
                  **kwargs: Any) -> asyncio.Task[Any]:
    if type(coro) is not types.CoroutineType and not isinstance(coro, collections.abc.Coroutine):
        return asyncio.Task(coro, loop=loop, context=context, **kwargs)  # generator-based: untimed
    # a task created in a step of a request's task (``asyncio.wait_for``'s) counts for that
    # request; any other starts its own account: a callback can run in the context of a request
    # that is over (uvicorn resumes a keep-alive connection's reading from the request's task,
    # and the next request's task is created in that reader's copy of the context)
    parent = _ACCOUNT.get()
    account = parent if parent is not None and parent.step_started is not None else Account()
    if context is None:
        context = contextvars.copy_context()  # what the task would make itself
    context.run(_ACCOUNT.set, account)  # once: its steps, awaits and pool calls all see it
    return asyncio.Task(_Timed(coro, account), loop=loop, context=context, **kwargs)


def _timed_call(account: Account, func: Callable[..., Any], *args: Any) -> Any:
    started = _clock()
    try:
        return func(*args)
    finally:
        account.pool_s += _clock() - started


_original_run_sync = anyio.to_thread.run_sync


def _run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """``anyio.to_thread.run_sync`` with the call timed on the pool thread for the request whose
    step calls it. Not a coroutine function itself: the caller awaits anyio's coroutine directly
    (one frame less on every step of the request while it waits)."""
    account = _ACCOUNT.get()
    if account is None or account.step_started is None:  # not called from a request's step
        return _original_run_sync(func, *args, **kwargs)
    return _original_run_sync(_timed_call, account, func, *args, **kwargs)


def install() -> None:
    """Time the running loop's tasks and the thread pool's calls from now on (idempotent). Called
    by the metrics middleware on the app's first scope (the lifespan's, before any request)
    when ``Settings.route_cpu`` is on."""
    loop = asyncio.get_running_loop()
    if loop.get_task_factory() is None:
        loop.set_task_factory(_task_factory)  # type: ignore[arg-type]
    if anyio.to_thread.run_sync is not _run_sync:
        anyio.to_thread.run_sync = _run_sync  # type: ignore[assignment]


def installed() -> bool:
    """Whether the running loop's tasks are timed."""
    return asyncio.get_running_loop().get_task_factory() is _task_factory


def spent() -> float | None:
    """The current request's CPU seconds so far; None outside a timed task."""
    account = _ACCOUNT.get()
    return account.spent() if account is not None else None
