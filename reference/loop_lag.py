"""The event loop's lag: how late a timer callback runs on a worker's loop (issue 12).

A SQLite group commit that found the write lock taken tries again ``RETRY_S`` (0.2 ms) later
(reference.committer.LoopCommitter), but blocked heartbeats waited 5-16 ms on average for
commits that held the lock 1.3-1.6 ms: the loop's own retry ran late. ``LoopLagProbe`` measures
that lateness directly: a callback every ``interval_s`` on the loop records how long after its
due time it ran (other callbacks ahead of it, the GIL held by the pool's threads, a /metrics
render). One histogram observation every 50 ms: ~20 a second per worker.

The interpreter's switch interval is how long a thread holding the GIL keeps it from a thread
that asks for it (CPython: 5 ms); ``set_switch_interval`` applies ``Settings.switch_interval_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from reference.metrics import LOOP_LAG


class LoopLagProbe:
    """Calls itself back every ``interval_s`` on ``loop`` and observes how late each call ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval_s: float,
                 observe: Callable[[float], None] = LOOP_LAG.observe) -> None:
        self.loop = loop
        self.interval_s = interval_s
        self._observe = observe
        self._due = 0.0
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> LoopLagProbe:
        self._schedule(self.loop.time())
        return self

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, now: float) -> None:
        self._due = now + self.interval_s
        self._handle = self.loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self.loop.time()
        # asyncio runs a timer up to its clock's resolution early: no lag then
        self._observe(max(0.0, now - self._due))
        self._schedule(now)


def lifespan(interval_s: float) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: a probe on the worker's loop while it serves (``interval_s`` 0: none).
    A lifespan rather than a middleware: nothing added to a request's path."""

    @contextlib.asynccontextmanager
    async def probing(_app: Any) -> AsyncIterator[None]:
        probe = LoopLagProbe(asyncio.get_running_loop(), interval_s).start() if interval_s > 0 else None
        try:
            yield
        finally:
            if probe is not None:
                probe.stop()

    return probing


def set_switch_interval(seconds: float | None) -> None:
    """The interpreter's GIL switch interval, if set (None: leave CPython's 5 ms, or the
    0.5 ms that reference.committer.ThreadCommitter sets when its writer thread starts)."""
    if seconds is not None:
        sys.setswitchinterval(seconds)
