"""How the reference platform's workers spend a sync request's CPU: on the loop, on a pool
thread with the GIL, or without it (sim/tiers/workers.py needs the split; the fit measures
only the whole demand per endpoint).

A short probe on this machine (about a second, while the server is idle) measures the two
costs the split is made of, with the reference's own settings and libraries:

- ``hop_ms``: the event loop's CPU for one hand-over to the thread pool and back
  (``anyio.to_thread.run_sync`` of a no-op, the loop thread's ``time.thread_time``), the
  loop's part of a sync request per hop;
- ``hash_ms``: one argon2 hash at the server's cost settings (a pool thread's CPU), and whether
  the hash releases the GIL (the main thread's Python keeps running beside it).

Per endpoint, from the routes the reference serves (FastAPI's own rules): sync or async; its
hops (a sync dependency one, a sync generator two, the route one, its answer's validation
one); its argon2 hashes (calls of ``hash_password`` / ``verify_password`` in the route).
A sync endpoint's loop part is then hops x hop_ms and its GIL-free part hashes x hash_ms.
What is not measured apart: the loop's parsing of the request and serialising of the answer
(left in the thread's GIL part, which is the demand's rest).
"""

from __future__ import annotations

import ast
import inspect
import statistics
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from typing import Any

HASH_CALLS = ("hash_password", "verify_password")


@dataclass(frozen=True)
class Probe:
    hop_ms: float
    hash_ms: float
    hash_releases_gil: bool
    python_beside_hash: float  # the main thread's Python progress beside a hash, over alone
    hash_cv: float = 0.0  # the hashes' CPU: standard deviation over mean (argon2's cost is fixed)


@dataclass(frozen=True)
class Route:
    sync: bool
    hops: int
    hashes: int


def routes() -> dict[tuple[str, str], tuple[str, Route]]:
    """(method, path) -> (route name, how it is served) for every /api/v1 route."""
    from fastapi.routing import APIRoute

    from reference.api.main import AREAS, PREFIX

    out = {}
    for area in AREAS:
        for route in area.router.routes:
            if not isinstance(route, APIRoute):
                continue
            sync = not _coroutine(route.endpoint)
            hops = _dependency_hops(route.dependant, set())
            hops += (1 + (route.response_field is not None)) if sync else 0
            found = Route(sync, hops if sync else 0, _hashes(route.endpoint))
            for method in route.methods or ():
                out[(method, PREFIX + route.path)] = (route.name, found)
    return out


def _coroutine(call: Any) -> bool:
    # a class instance (HTTPBearer) is called through its __call__
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__)


def _dependency_hops(dependant: Any, seen: set[Any]) -> int:
    """Thread hops of a route's dependencies, each solved once a request (FastAPI's cache)."""
    hops = 0
    for sub in dependant.dependencies:
        if sub.call in seen:
            continue
        seen.add(sub.call)
        hops += _dependency_hops(sub, seen)
        if inspect.isgeneratorfunction(sub.call):
            hops += 2  # entered and exited on the pool (contextmanager_in_threadpool)
        elif not (_coroutine(sub.call) or inspect.isasyncgenfunction(sub.call)):
            hops += 1
    return hops


def _hashes(call: Any) -> int:
    tree = ast.parse(textwrap.dedent(inspect.getsource(call)))
    return sum(isinstance(node, ast.Call) and getattr(node.func, "id", None) in HASH_CALLS
               for node in ast.walk(tree))


def probe(hops: int = 400, hashes: int = 6) -> Probe:
    """The loop's CPU a hop and one argon2 hash's CPU at the reference's default cost."""
    from reference.security import hash_password, password_hasher
    from reference.settings import Settings

    hasher = password_hasher(Settings())
    cpu: list[float] = []

    def one_hash() -> None:
        began = time.thread_time()
        hash_password(hasher, "probe-password")
        cpu.append(time.thread_time() - began)

    for _ in range(hashes):
        thread = threading.Thread(target=one_hash)
        thread.start()
        thread.join()
    alone = _python_rate(lambda stop: stop.wait())
    def hashing(stop: threading.Event) -> None:
        while not stop.is_set():
            one_hash()

    beside = _python_rate(hashing)
    ratio = beside / alone if alone > 0 else 0.0
    # A hash that held the GIL would stop the main thread's Python for its whole length
    # (it never returns to the interpreter to hand the GIL over): ~0 progress.
    first = cpu[:hashes]
    spread = statistics.pstdev(first) / statistics.mean(first)
    return Probe(_hop_ms(hops), 1000.0 * statistics.median(first), ratio > 0.1, ratio, spread)


def _python_rate(beside: Any, seconds: float = 0.2) -> float:
    """Pure-Python iterations a second on this thread while ``beside(stop)`` runs in another."""
    stop = threading.Event()
    thread = threading.Thread(target=beside, args=(stop,))
    thread.start()
    began, count = time.perf_counter(), 0
    while time.perf_counter() - began < seconds:
        count += 1
    elapsed = time.perf_counter() - began
    stop.set()
    thread.join()
    return count / elapsed


def _hop_ms(count: int) -> float:
    import anyio

    async def hops() -> float:
        await anyio.to_thread.run_sync(lambda: None)  # the pool's thread started
        began = time.thread_time()
        for _ in range(count):
            await anyio.to_thread.run_sync(lambda: None)
        return (time.thread_time() - began) / count

    return 1000.0 * anyio.run(hops)


def worker_threads(endpoints: list[Any], database_url: str | None,
                   found: Probe | None = None) -> dict[str, Any]:
    """The api tier's ``threads`` entry (domain.platform_spec.WorkerThreads) for the reference
    platform's workers: the scenario's endpoints that its routes serve on the pool, their loop
    and GIL-free parts from the probe, the session gate's slots, and a note saying how."""
    from reference.db import Database

    found = found or probe()
    served = routes()
    with tempfile.TemporaryDirectory() as folder:  # an engine only: nothing connects to it
        slots = Database(database_url or f"sqlite:///{folder}/slots.sqlite").request_slots
    sync = {}
    for endpoint in endpoints:
        route = served.get((endpoint.method, endpoint.path))
        if route is None or not route[1].sync:
            continue
        free = route[1].hashes * found.hash_ms if found.hash_releases_gil else 0.0
        sync[endpoint.name] = {"loop_ms": round(route[1].hops * found.hop_ms, 4), "free_ms": round(free, 3)}
    gil = "releases" if found.hash_releases_gil else "holds"
    note = (f"measured by calibrate/threads.py: a hop {found.hop_ms:.3f} ms of the loop's CPU, argon2 "
            f"{found.hash_ms:.1f} ms a hash (cv {found.hash_cv:.2f}; {gil} the GIL: Python beside it at "
            f"{found.python_beside_hash:.2f} of its rate alone); hops and hashes per endpoint from the "
            f"routes; slots: the session gate's ({slots})")
    return {"slots": slots, "sync": sync, "note": note}
