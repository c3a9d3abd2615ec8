"""The calendar of teachers' next sessions, bucketed by minute.

Between sessions a teacher is only an entry here (teacher row, start instant, wave focus).
Each minute the model's clock takes the minute's bucket and starts one SimPy process per
entry; an entry added for a minute whose bucket was already taken starts at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable


class Schedule:
    def __init__(self) -> None:
        self._buckets: dict[int, list[tuple[int, float, int]]] = defaultdict(list)
        self._taken = -1
        self._start: Callable[[int, float, int], None] | None = None
        self.pending = 0

    def bind(self, start: Callable[[int, float, int], None]) -> None:
        """``start(tid, at, focus)`` launches a session; used for entries that are late."""
        self._start = start

    def add(self, tid: int, at: float, focus: int) -> None:
        minute = int(at // 60.0)
        if minute <= self._taken and self._start is not None:
            self._start(tid, at, focus)
            return
        self._buckets[minute].append((tid, at, focus))
        self.pending += 1

    def take(self, minute: int) -> list[tuple[int, float, int]]:
        self._taken = minute
        due = self._buckets.pop(minute, [])
        self.pending -= len(due)
        return due
