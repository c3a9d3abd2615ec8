"""The garbage collector in a worker: its pauses measured, its policy applied (issue 12).

CPython's cyclic collector stops the whole worker while it runs (it holds the GIL): nothing
on the loop, no pool thread. Near the knee each worker ran a full (generation-2) collection
every ~5.6 s of ~150 ms, up to 641 ms (docs/calibration-log.md, "The server's garbage-collection
stalls"): a full collection walks every tracked object, the ~100,000 that importing and building the app
leaves (FastAPI, SQLAlchemy, pydantic, the catalogue) as well as the requests in flight.

``GcPauses`` times every collection through ``gc.callbacks`` into reference.metrics
(``yanxiu_gc_pause_seconds{generation}``: count and sum; the longest per generation), and
``apply`` sets ``Settings.gc_policy`` once in each worker process when it starts serving:

- ``python``: CPython's defaults (thresholds 700, 10, 10; nothing frozen), the server before
  issue 12;
- ``freeze``: a full collection, then ``gc.freeze()``: what start-up left moves to the
  permanent generation, which no collection walks again;
- ``freeze-young`` (the default): ``freeze`` and a first threshold of 10,000 allocations
  instead of 700: a young collection then finds fewer of the requests in flight alive, so
  fewer short-lived objects are promoted into the generations a full collection walks.

Measured at the SQLite knee (507 req/s, two workers, 2026-12-01 05:30-05:35; docs/calibration-log.md,
"The server's garbage-collection stalls"): ``python`` collected everything every 5.7 s per worker
(153 ms mean, up to 320 ms; 4.4% of a worker's time in the collector), ``freeze-young`` not once in
the 100-s replay (young collections every 1.5 s, 13 ms mean, up to 68 ms; 1.1%).
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from typing import Any

from reference.metrics import GC_FROZEN, GC_PAUSE, GC_PAUSE_MAX


@dataclass(frozen=True)
class GcPolicy:
    freeze: bool
    thresholds: tuple[int, int, int] | None  # None: leave the interpreter's


# CPython 3.11's thresholds (gc.get_threshold() in a fresh interpreter)
PYTHON_THRESHOLDS = (700, 10, 10)
POLICIES = {
    "python": GcPolicy(freeze=False, thresholds=None),
    "freeze": GcPolicy(freeze=True, thresholds=None),
    "freeze-young": GcPolicy(freeze=True, thresholds=(10_000, 10, 10)),
}
DEFAULT_POLICY = "freeze-young"


class GcPauses:
    """A ``gc.callbacks`` entry that observes each collection's wall time by generation."""

    def __init__(self) -> None:
        self._started = 0.0
        # the histogram's children, bound once: a young collection can come every few requests
        self._children = [GC_PAUSE.labels(str(generation)) for generation in range(3)]
        self._max_children = [GC_PAUSE_MAX.labels(str(generation)) for generation in range(3)]
        self._longest = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        seconds = time.perf_counter() - self._started
        generation = info["generation"]
        self._children[generation].observe(seconds)
        if seconds > self._longest[generation]:
            self._longest[generation] = seconds
            self._max_children[generation].set(seconds)


# the process that installed the timer and applied the policy: once each (a test builds many
# apps in one process; a worker started by fork would inherit the parent's flag, not its pid)
_timed_in: int | None = None
_applied_in: int | None = None


def install_timer() -> bool:
    """Times this process's collections from now on; False if already done here."""
    global _timed_in
    if _timed_in == os.getpid():
        return False
    gc.callbacks.append(GcPauses())
    _timed_in = os.getpid()
    return True


def apply(name: str) -> bool:
    """Applies policy ``name`` to this process, once (the first call's; False after it)."""
    global _applied_in
    if _applied_in == os.getpid():
        return False
    policy = POLICIES[name]
    if policy.thresholds is not None:
        gc.set_threshold(*policy.thresholds)
    if policy.freeze:
        gc.collect()  # the start-up's garbage is collected, not frozen for good
        gc.freeze()
    GC_FROZEN.set(gc.get_freeze_count())
    _applied_in = os.getpid()
    return True
