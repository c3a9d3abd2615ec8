"""Prometheus metrics: request count and latency per endpoint name (the contract's names).

A plain ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware) reads the matched route
from the scope after the app ran. With several uvicorn workers, ``PROMETHEUS_MULTIPROC_DIR``
(set by ``yanxiu serve`` before the workers start) makes every worker write its samples to
files there and ``/metrics`` sums them across processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from reference import route_cpu

REQUESTS = Counter(
    "yanxiu_requests_total",
    "HTTP requests by endpoint, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "yanxiu_request_seconds",
    "HTTP request latency by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Group commits (reference.committer): how many jobs share one durable commit, and how long
# a batch held the database's write lock (its statements and the commit's fsync).
COMMIT_JOBS = Histogram(
    "yanxiu_commit_jobs",
    "Jobs (heartbeats) written by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
COMMIT_SECONDS = Histogram(
    "yanxiu_commit_seconds",
    "Time one group commit held the write lock: statements and commit",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
# The same time by the batch's size, so that a commit's fixed cost and a write's can be told
# apart (issue 12: a calibration's batches are ~1 write each, so their sums cannot; the lock
# time a write fell from 1.9 to 1.4 ms as batches grew from 1.2 to 1.75 writes).
COMMIT_SIZES = ("1", "2", "3-4", "5-8", "9+")
COMMIT_SECONDS_BY_SIZE = Histogram(
    "yanxiu_commit_seconds_by_size", "Time one group commit held the write lock, by its jobs",
    ["jobs"], buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.1),
)
# The CPU seconds of the group commits (their statements and commit, in the thread that ran
# them: the event loop's on SQLite, the committer's thread on PostgreSQL): a heartbeat's write
# runs there, outside its request's task, so the route's CPU (reference.route_cpu) lacks it.
COMMIT_CPU = Counter(
    "yanxiu_commit_cpu_seconds", "CPU seconds the group commits spent, in the thread that ran them"
)
# the jobs those commits wrote (a band's mean batch, for the fit: time = commit + jobs·write)
COMMIT_JOBS_BY_SIZE = Counter(
    "yanxiu_commit_jobs_by_size", "Jobs written by the group commits, by the commit's jobs", ["jobs"]
)


def commit_size(jobs: int) -> str:
    """The ``jobs`` label of a batch of ``jobs`` jobs."""
    return "1" if jobs <= 1 else "2" if jobs == 2 else "3-4" if jobs <= 4 else "5-8" if jobs <= 8 else "9+"


# The writer thread of a worker (reference.committer.ThreadCommitter, PostgreSQL), issue 12: where
# a heartbeat's time goes between its hand-over and its answer, beside the commit's own time
# (yanxiu_commit_seconds): a job's wait until its batch began (the batch before it, then the
# linger), the linger as it lasted, and the loop's delay in running the answer once asked.
WRITER_BUCKETS = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
WRITER_WAIT = Histogram(
    "yanxiu_writer_wait_seconds", "A job's time from its hand-over until its batch began (writer thread)",
    buckets=WRITER_BUCKETS,
)
WRITER_LINGER = Histogram(
    "yanxiu_writer_linger_seconds", "A batch's linger, from its first job until it began (writer thread)",
    buckets=WRITER_BUCKETS,
)
WRITER_ANSWER = Histogram(
    "yanxiu_writer_answer_seconds", "Time from the writer thread's answer until its event loop ran it",
    buckets=WRITER_BUCKETS,
)

# The session gate (reference.session_gate), per endpoint: how long a request waited on the
# loop for a slot, and how long it then held it (its sessions' sync steps on the thread pool,
# the hops between them through the loop, the GIL). Issue 12: the sync routes' time in the
# app is ~5x the model's at 85% of the knee; these split it where it is spent.
GATE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
GATE_WAIT = Histogram(
    "yanxiu_gate_wait_seconds", "Time a request waited for a session-gate slot", ["endpoint"],
    buckets=GATE_BUCKETS,
)
GATE_HELD = Histogram(
    "yanxiu_gate_held_seconds", "Time a request held its session-gate slot", ["endpoint"],
    buckets=GATE_BUCKETS,
)

# SQLite's BEGIN IMMEDIATE: the wait for the one write lock (reference.db), by who waited.
WRITE_LOCK_WAIT = Histogram(
    "yanxiu_write_lock_wait_seconds", "Time BEGIN IMMEDIATE waited for SQLite's write lock", ["who"],
    buckets=GATE_BUCKETS,
)
# ... and how long a write transaction outside the group commits (a route's own) then held it,
# by the endpoint whose request ran it (reference.db.WRITING_ENDPOINT; "other" outside a request):
# the group commits' hold is yanxiu_commit_seconds; together, the single writer's busy time.
WRITE_LOCK_HELD = Histogram(
    "yanxiu_write_lock_held_seconds",
    "Time a write transaction outside the group commits held SQLite's write lock",
    ["endpoint"], buckets=GATE_BUCKETS,
)
# A group commit's job (a heartbeat), from its hand-over to its loop's committer until its batch
# began, by what its batch found holding the write lock at its first try (issue 12: heartbeats
# stalled 10-100s of ms at 60% of the knee): "none" (the loop's turn only), "route" (a route's own
# transaction: SQLite busy), "committer" (the other worker's group commit: the file lock).
COMMIT_WAIT = Histogram(
    "yanxiu_commit_wait_seconds", "Time a group commit job waited for its batch to begin, by lock holder",
    ["behind"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class MetricsMiddleware:
    def __init__(self, app, route_cpu: bool = True) -> None:
        self.app = app
        # Settings.route_cpu: time each request's CPU (reference.route_cpu) into ROUTE_CPU
        self.route_cpu = route_cpu
        # (endpoint, method, status) -> the counters' and the histogram's children: labels()
        # validates and locks on every call (18 of a heartbeat's ~560 Python calls, measured);
        # the label sets are bounded (the routes' names, their methods and statuses).
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any | None]] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            if self.route_cpu:  # the lifespan's scope, before any request (on this worker's loop)
                route_cpu.install()
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_with_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            key = (getattr(route, "name", None) or "unmatched", scope["method"], str(status[0]))
            children = self._children.get(key)
            if children is None:
                cpu_child = route_cpu.ROUTE_CPU.labels(key[0]) if self.route_cpu else None
                children = self._children[key] = (REQUESTS.labels(*key), LATENCY.labels(key[0]), cpu_child)
            children[0].inc()
            children[1].observe(time.perf_counter() - started)
            if children[2] is not None:
                cpu = route_cpu.spent()
                if cpu is not None:
                    children[2].inc(cpu)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST

LOOP_LAG = Histogram(
    "yanxiu_loop_lag_seconds", "How late a periodic timer callback ran on the worker's event loop",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)

# A SQLite group commit's failed tries of the write lock before its batch began, by what held it
# at the first (reference.committer.LoopCommitter; "none": began at its first try). Beside the
# loop's lag: a blocked batch whose wait is many tries found the lock taken again and again; one
# whose wait is a few tries waited for its loop to run them.
COMMIT_TRIES = Histogram(
    "yanxiu_commit_failed_tries", "Failed tries of the write lock before a loop's group commit began",
    ["behind"], buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024),
)
# ... and each retry's real interval: from a failed try until its loop tried again (RETRY_S as
# the loop ran it: uvloop's whole milliseconds, then the loop's other callbacks and the GIL), by
# what held the lock at the failed try. The model's polling loop (sim/tiers/write_lock.Polling).
COMMIT_RETRY = Histogram(
    "yanxiu_commit_retry_seconds", "Time from a group commit's failed try of the write lock to its next try",
    ["behind"], buckets=(0.001, 0.0011, 0.0012, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)

# The worker's garbage collections (reference.gc_policy, issue 12): each stops the worker (GIL
# held) for its wall time, by generation: count and sum per generation, the longest in any
# worker (multiprocess "max"), and the objects each live worker froze at start (Settings.gc_policy).
GC_PAUSE = Histogram(
    "yanxiu_gc_pause_seconds", "Time one garbage collection stopped the worker, by generation",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
GC_PAUSE_MAX = Gauge(
    "yanxiu_gc_pause_max_seconds", "The longest garbage collection of a worker, by generation",
    ["generation"], multiprocess_mode="max",
)
GC_FROZEN = Gauge(
    "yanxiu_gc_frozen_objects", "Objects the worker froze at start (gc.freeze; 0: none)",
    multiprocess_mode="liveall",
)
