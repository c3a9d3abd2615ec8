"""The campaign clock: "now" as the campaign sees it.

With ``clock_start`` set, the server's start (``clock_origin``, Unix seconds, shared by all
workers) maps to that campaign instant and time then runs at the real rate (or `clock_rate`
times faster, for a compressed replay), so a load test
can replay a stretch of the 2023 window today. Without it the clock is real time.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from zoneinfo import ZoneInfo

from domain.zones import localise


class Clock:
    def __init__(self, start: dt.datetime | None, origin: float, zone: ZoneInfo, rate: float = 1.0) -> None:
        self.start = None if start is None else localise(start, zone)
        self.origin = origin
        self.rate = rate  # campaign seconds per real second (a compressed load-test replay)

    def real_seconds(self, campaign_s: float) -> int:
        """A wait on the campaign clock in whole real seconds (at least 1), as ``Retry-After``
        and ``retry_after_s`` give it: a client sleeps in real time."""
        return max(1, math.ceil(campaign_s / self.rate - 1e-9))

    def now(self) -> dt.datetime:
        if self.start is None:
            return dt.datetime.now(dt.UTC)
        return self.start + dt.timedelta(seconds=(time.time() - self.origin) * self.rate)


class FixedClock(Clock):
    """A clock that moves only when told to (tests)."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment
        self.rate = 1.0

    def now(self) -> dt.datetime:
        return self.moment

    def set(self, moment: dt.datetime) -> None:
        self.moment = moment

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)
