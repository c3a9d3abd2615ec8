"""Processor sharing on c cores: how an async worker (an event loop interleaving requests)
or an OS scheduler serves work, unlike c FCFS servers that each hold one request.

With n requests present, each is served at rate min(1, c/n): every request starts at once and
the cores are split evenly (the "limited processor sharing" of c cores). It is a symmetric
queue (Kelly), so the number in system has the same distribution as M/M/c's whatever the
service distribution (insensitivity): the mean response is M/M/c's mean at the same load,
S + C(c, a)/(cμ - λ), for any service variability, where FCFS pays (1 + scv)/2 times more wait.
The tails differ from FCFS (nobody waits, everyone stretches); the per-minute model keeps its
exponential-tail percentiles for this discipline (docs/tiers.md gives the measured error).

``serve_ps`` simulates it request by request with the virtual-time trick: V advances at the
rate each request receives, a request leaves when V has grown by its size since it arrived,
so the next departure is the smallest V_arrival + size in a heap: O(n log n).
"""

from __future__ import annotations

import heapq
import math


def serve_ps(arrivals: list[float], service: list[float], servers: int) -> tuple[list[float], list[float]]:
    """(start, leave) of each request: ``start`` is leave - service (the time the request
    would have needed alone), so start - arrival is the delay sharing added and the overlap
    of [start, leave) windows is the work done (utilisation), as for the FCFS pools."""
    n = len(arrivals)
    leave = [0.0] * n
    heap: list[tuple[float, int]] = []
    virtual = now = 0.0
    i = 0
    while i < n or heap:
        rate = min(1.0, servers / len(heap)) if heap else 0.0
        departure = now + (heap[0][0] - virtual) / rate if heap else math.inf
        if i < n and arrivals[i] <= departure:
            virtual += rate * (arrivals[i] - now)
            now = arrivals[i]
            heapq.heappush(heap, (virtual + service[i], i))
            i += 1
        else:
            virtual, j = heapq.heappop(heap)
            now = departure
            leave[j] = now
    return [leave[k] - service[k] for k in range(n)], leave


def serve_processes(arrivals: list[float], service: list[float], assign: list[int], processes: int,
                    cores: float) -> tuple[list[float], list[float]]:
    """``processes`` single-threaded processes (worker processes, a load generator) sharing
    ``cores`` under the operating system's time-sharing: each process serves its own queue
    first come first served, one item at a time, and while n processes have work each runs at
    min(1, cores / n) of a core (the scheduler's fair share; a process never gets more than
    one core). Item k goes to process ``assign[k]``; ``arrivals`` sorted. With processes <=
    cores it is ``processes`` independent FCFS servers; with one core it is work-conserving,
    so for exponential items of one mean the number present is M/M/1's whatever the split.
    ``start`` is leave - service (the CPU each item used), as in ``serve_ps``."""
    _, leave = time_share(arrivals, service, assign, processes, cores)
    return [leave[k] - service[k] for k in range(len(leave))], leave


def time_share(arrivals: list[float], service: list[float], assign: list[int], processes: int,
               cores: float) -> tuple[list[float], list[float]]:
    """``serve_processes``' schedule as (begin, leave): when each item's process took it up,
    and when it was done; (leave - begin) / service is how much the sharing stretched it."""
    n = len(arrivals)
    begin, leave = [0.0] * n, [0.0] * n
    queues: list[list[int]] = [[] for _ in range(processes)]
    heads = [0] * processes  # index into each queue of the item in service
    left = [0.0] * processes  # its remaining work
    busy: set[int] = set()
    now, i = 0.0, 0
    while i < n or busy:
        rate = min(1.0, cores / len(busy)) if busy else 0.0
        first = min(busy, key=left.__getitem__) if busy else -1
        done = now + left[first] / rate if busy else math.inf
        step = (arrivals[i] if i < n and arrivals[i] <= done else done) - now
        for p in busy:
            left[p] -= rate * step
        now += step
        if i < n and arrivals[i] <= done:
            now, p = arrivals[i], assign[i]
            queues[p].append(i)
            if p not in busy:
                busy.add(p)
                left[p], begin[i] = service[i], now
            i += 1
            continue
        now = done
        leave[queues[first][heads[first]]] = now
        heads[first] += 1
        if heads[first] < len(queues[first]):
            k = queues[first][heads[first]]
            left[first], begin[k] = service[k], now
        else:
            busy.discard(first)
    return begin, leave
