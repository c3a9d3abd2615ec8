"""Worker processes with an event loop and a thread pool: how a uvicorn worker serves requests.

A worker (one process, one GIL) serves an async request on its event loop: the loop takes its
work items one at a time, first come first served. A sync request costs the loop only its hops
(parsing, the hand-overs to the pool and back: ``loop`` work, served FCFS like the rest), then
waits on the loop, without CPU, for one of the worker's ``slots`` (the session gate, FCFS), and
runs on a pool thread: first the part that holds the GIL (``gil``: the route's Python), then the
part that releases it (``free``: argon2), and gives the slot back.

CPU is shared twice. Within a worker, the GIL is shared evenly by whoever wants it: the loop
(when it has work) and each thread in its GIL part (CPython hands the GIL over every switch
interval, 5 ms, to a waiting thread: about round robin, so processor sharing among them). On
the host, the runnable entities share ``cores`` evenly, none getting more than a core: each
worker whose GIL is wanted counts once (only the GIL's holder runs), each thread in its free
part once, each busy background process once (the load generator, other work: as
``sim.tiers.sharing.time_share`` has them).

Limits (tests/sim/tiers/test_workers.py): no sync request -> each worker is the FCFS process of
``time_share`` (the model without threads); one slot, no loop work, one worker on a core ->
FCFS; only GIL-free work with cores to spare -> ``slots`` FCFS servers a worker; only GIL work
and slots to spare -> processor sharing of one core a worker (``serve_ps``).

Simulated with virtual time per sharing group (as ``serve_ps``): every member of a group is
served at the same rate, so a member leaves when its group's virtual clock has advanced by its
work since it joined; the next departure of a group is the least tag in its heap.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

# what a member of a sharing group is doing
LOOP, GIL, FREE, BACKGROUND = 0, 1, 2, 3


@dataclass(frozen=True)
class Work:
    """Per request (arrivals sorted): its worker and its CPU seconds by where they run."""

    worker: np.ndarray  # int: the worker process that accepted it
    loop: np.ndarray  # on the event loop (FCFS on the loop, holds the GIL)
    gil: np.ndarray  # on a pool thread, holding the GIL
    free: np.ndarray  # on a pool thread, without the GIL
    sync: np.ndarray  # bool: served on the pool behind the gate (else all on the loop)


@dataclass(frozen=True)
class Served:
    leave: np.ndarray  # when each request was answered
    gate_wait: np.ndarray  # its wait for a slot (0 for async requests)
    loop_begin: np.ndarray  # when the loop took up its loop work
    loop_end: np.ndarray  # when the loop finished it


@dataclass(frozen=True)
class Background:
    """Other processes' jobs on the host: arrival times (sorted), CPU seconds, which process."""

    times: np.ndarray
    sizes: np.ndarray
    owners: np.ndarray
    processes: int


class _Groups:
    """The sharing groups: one per worker (its GIL), one for the cores' other entities."""

    def __init__(self, workers: int, cores: float) -> None:
        self.workers, self.cores = workers, cores
        self.heaps: list[list[tuple[float, int, int, int]]] = [[] for _ in range(workers + 1)]
        self.virtual = [0.0] * (workers + 1)
        self.now = 0.0
        self._seq = 0

    def join(self, group: int, work: float, kind: int, who: int) -> None:
        self._seq += 1
        heapq.heappush(self.heaps[group], (self.virtual[group] + work, self._seq, kind, who))

    def rates(self) -> list[float]:
        """Each group's rate per member: a core's share for the GIL group, split among its members."""
        heaps = self.heaps
        entities = sum(1 for h in heaps[: self.workers] if h) + len(heaps[self.workers])
        share = min(1.0, self.cores / entities) if entities else 0.0
        return [share / len(h) if h else 0.0 for h in heaps[: self.workers]] + [share]

    def next_departure(self, rates: list[float]) -> tuple[float, int]:
        best, group = math.inf, -1
        for g, heap in enumerate(self.heaps):
            if heap:
                t = self.now + max(heap[0][0] - self.virtual[g], 0.0) / rates[g]
                if t < best:
                    best, group = t, g
        return best, group

    def advance(self, to: float, rates: list[float]) -> None:
        step = to - self.now
        if step > 0:
            for g in range(len(self.virtual)):
                self.virtual[g] += step * rates[g]
            self.now = to


def serve_workers(arrivals: np.ndarray, work: Work, workers: int, slots: int, cores: float,
                  background: Background | None = None) -> Served:
    """Serve the requests (``arrivals`` sorted) on ``workers`` worker processes of ``slots``
    gate slots each, beside ``background`` on ``cores`` (module docstring)."""
    n = arrivals.size
    leave, wait = np.zeros(n), np.zeros(n)
    loop_begin, loop_end = np.zeros(n), np.zeros(n)
    groups = _Groups(workers, cores)
    loops: list[deque[int]] = [deque() for _ in range(workers)]
    waiting: list[deque[int]] = [deque() for _ in range(workers)]
    free_slots = [slots] * workers
    gated = np.zeros(n)  # when a sync request asked for its slot
    bg = background or Background(np.empty(0), np.empty(0), np.empty(0, int), 0)
    jobs: list[deque[int]] = [deque() for _ in range(bg.processes)]
    core = workers  # the group of the free threads and the background

    def start_loop(w: int) -> None:
        i = loops[w][0]
        loop_begin[i] = groups.now
        groups.join(w, float(work.loop[i]), LOOP, i)

    def run_thread(i: int) -> None:
        wait[i] = groups.now - gated[i]
        if work.gil[i] > 0:
            groups.join(int(work.worker[i]), float(work.gil[i]), GIL, i)
        else:
            groups.join(core, float(work.free[i]), FREE, i)

    def done(kind: int, who: int) -> None:
        now = groups.now
        if kind == BACKGROUND:
            p = int(bg.owners[who])
            jobs[p].popleft()
            if jobs[p]:
                groups.join(core, float(bg.sizes[jobs[p][0]]), BACKGROUND, jobs[p][0])
            return
        w = int(work.worker[who])
        if kind == GIL and work.free[who] > 0:
            groups.join(core, float(work.free[who]), FREE, who)
            return
        if kind == LOOP:
            loops[w].popleft()
            loop_end[who] = now
            if loops[w]:
                start_loop(w)
            if work.sync[who]:
                gated[who] = now
                if free_slots[w]:
                    free_slots[w] -= 1
                    run_thread(who)
                else:
                    waiting[w].append(who)
                return
        elif waiting[w]:  # a thread done: its slot goes to the first waiting request
            run_thread(waiting[w].popleft())
        else:
            free_slots[w] += 1
        leave[who] = now

    i = j = 0
    while True:
        rates = groups.rates()
        departure, group = groups.next_departure(rates)
        request = arrivals[i] if i < n else math.inf
        job = bg.times[j] if j < bg.times.size else math.inf
        if min(request, job) == math.inf and group < 0:
            break
        if request <= departure and request <= job:
            groups.advance(request, rates)
            w = int(work.worker[i])
            loops[w].append(i)
            if len(loops[w]) == 1:
                start_loop(w)
            i += 1
        elif job <= departure:
            groups.advance(job, rates)
            p = int(bg.owners[j])
            jobs[p].append(j)
            if len(jobs[p]) == 1:
                groups.join(core, float(bg.sizes[j]), BACKGROUND, j)
            j += 1
        else:
            groups.advance(departure, rates)
            _, _, kind, who = heapq.heappop(groups.heaps[group])
            done(kind, who)
    return Served(leave, wait, loop_begin, loop_end)


def split(service: np.ndarray, kinds: np.ndarray, demand_s: np.ndarray, loop_s: np.ndarray,
          free_s: np.ndarray, sync: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loop, gil, free) seconds of each request from its drawn ``service`` (mean: its
    endpoint's demand ``demand_s``). A sync endpoint's GIL-free part is fixed: ``free_s``
    (argon2, whose cost its parameters fix; at most the demand less ``loop_s``); the rest of
    the draw, scaled to keep the mean, is ``loop_s`` on the loop (at most all of it) and the
    remainder with the GIL. An async endpoint's is all on the loop."""
    loop_fixed = np.where(sync, np.minimum(loop_s, demand_s), 0.0)
    free_fixed = np.where(sync, np.minimum(free_s, demand_s - loop_fixed), 0.0)
    rest = demand_s - free_fixed  # the drawn part's mean
    scale = np.where(demand_s > 0, rest / np.where(demand_s > 0, demand_s, 1.0), 0.0)
    drawn = service * scale[kinds]
    loop_share = np.where(sync, loop_fixed / np.where(rest > 0, rest, 1.0), 1.0)
    loop = drawn * loop_share[kinds]
    return loop, np.clip(drawn - loop, 0.0, None), free_fixed[kinds]
