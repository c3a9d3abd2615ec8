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
