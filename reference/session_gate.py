"""A bound on the requests of one worker that may hold database connections at once.

Routes and their dependencies are sync and run on the event loop's thread pool (40 threads),
and a request takes a thread several times: the auth dependency's read, the route, the
validation of its answer. A request keeps its session's connection between those steps, so
when more requests than the pool's connections arrived together (issue 12: the resumed
sessions' sign-in burst on PostgreSQL), the connections were all held by requests waiting
for a thread while every thread was blocked checking out a connection: nothing moved until
the pool's 30-s timeout, and requests queued past the clients' 60 s. Before a request may
open a session it takes a slot here, waiting on the event loop (no thread, no connection);
with at most ``Database.request_slots`` slots a checkout never waits for the pool, so a
thread never waits for a connection and the requests holding connections always get a thread.
A request that cannot get a slot within ``WAIT_S`` is answered 503 with Retry-After.
"""

from __future__ import annotations

import asyncio

from prometheus_client import Counter

from reference.errors import ApiError

# Far beyond a request's few ms of database work, well inside the load tests' 60-s client
# timeout: a worker this far behind answers 503 (the client retries) instead of a timeout.
WAIT_S = 10.0
RETRY_AFTER_S = 1  # as admission control's and the database-busy 503s
REFUSED = Counter("yanxiu_session_gate_refused_total", "Requests refused 503: no database slot in time")


class SessionGate:
    """``size`` slots; one asyncio semaphore per event loop (a worker has one loop; a test's
    client may run the app on another)."""

    def __init__(self, size: int, wait_s: float = WAIT_S) -> None:
        if size < 1:
            raise ValueError(f"session gate needs at least one slot, got {size}")
        self.size = size
        self.wait_s = wait_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(size)

    def _current(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.size)
        return self._semaphore

    async def acquire(self) -> asyncio.Semaphore:
        """A slot (release it on the semaphore returned), or ApiError 503 after ``wait_s``.
        A free slot is taken at once: ``wait_for`` would wrap the wait in a task of its own
        (Python 3.11), one more task a request for a wait that does not happen. ``locked()``
        is also true while others wait, so a request never takes a slot ahead of them."""
        semaphore = self._current()
        if not semaphore.locked():
            await semaphore.acquire()  # returns without suspending
            return semaphore
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait_s)
        except TimeoutError:
            REFUSED.inc()
            raise ApiError(
                503, "server busy: no database connection free, retry later", retry_after_s=RETRY_AFTER_S
            ) from None
        return semaphore
