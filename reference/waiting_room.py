"""The login waiting room ("queue mode"): logins past an admission rate wait their turn.

When the evening's logins arrive faster than ``rate`` a second (per worker), a login is not
hashed (argon2 is the login's whole cost) but answered 429 with a queue position and a
*ticket*: ``{"detail", "queued": true, "queue_position", "ticket", "retry_after_s"}`` and
``Retry-After`` (real seconds). The client sends the same login again after the wait with
the header ``X-Queue-Ticket: <ticket>`` and is admitted then, ahead of newcomers.

A virtual queue, as the hosted waiting rooms do it: each worker keeps only the instant its
next admission slot falls at (slots ``1/rate`` apart). A login without a ticket reserves the
next slot; within ``BURST_S`` of now it is admitted at once, later it gets a ticket naming
its slot, signed (HMAC-SHA256 with the server's secret, which all workers share) and bound
to the mobile. A ticket whose slot has come is admitted by whichever worker gets it, without
a new slot (its slot was reserved when it was issued), so returning clients keep their place
and the queue stays first come, first served. A ticket is good for ``TICKET_GRACE_S`` after its
slot; later, or forged, or for another mobile, it counts as none (the back of the queue).

The queue is bounded: a login whose slot would be more than ``max_wait_s`` away reserves
nothing and is answered 503 ``room_full`` with Retry-After, so a flood of logins cannot push
the queue hours into the future. Counted in ``/metrics``: ``yanxiu_waiting_room_total{outcome}``
(admitted, queued, ticket_admitted, full).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import threading
import time
from collections.abc import Callable

from prometheus_client import Counter

from reference.errors import ApiError

TICKET_HEADER = "x-queue-ticket"
BURST_S = 1.0  # slots this close are admitted at once: a second's worth of logins
EARLY_S = 0.5  # a ticket presented this much before its slot is let in (clocks, rounding)
TICKET_GRACE_S = 60.0  # how long after its slot a ticket still holds its place
ROOM = Counter("yanxiu_waiting_room_total", "Logins through the login waiting room", ["outcome"])


class WaitingRoom:
    """One worker's admission schedule for logins (thread-safe: login runs in a thread pool)."""

    def __init__(self, rate: float, secret: str, max_wait_s: float = 600.0,
                 now: Callable[[], float] = time.time) -> None:
        self.interval = 1.0 / rate
        self.max_wait_s = max_wait_s
        self._key = hashlib.sha256(b"waiting-room:" + secret.encode()).digest()
        self._now = now
        self._next = 0.0  # the instant of the next free slot (Unix seconds)
        self._lock = threading.Lock()

    def admit(self, mobile: str, ticket: str | None) -> None:
        """Return if this login may proceed now; otherwise raise the 429 (queued, with a
        ticket) or the 503 (room full) answer."""
        now = self._now()
        slot = self._slot_of(ticket, mobile) if ticket else None
        if slot is not None and now <= slot + TICKET_GRACE_S:
            if now < slot - EARLY_S:
                self._queued(mobile, slot, now)  # too early: the same place, no new slot
            ROOM.labels("ticket_admitted").inc()
            return
        slot = self._reserve(now)  # no ticket, or not a good one: the back of the queue
        if slot <= now + BURST_S:
            ROOM.labels("admitted").inc()
            return
        self._queued(mobile, slot, now)

    def _reserve(self, now: float) -> float:
        with self._lock:
            slot = max(now, self._next)
            if slot - now > self.max_wait_s:
                ROOM.labels("full").inc()
                wait = math.ceil(min(slot - now - self.max_wait_s + 1, self.max_wait_s))
                raise ApiError(503, f"login waiting room full; try again in {wait} s",
                               reason="room_full", retry_after_s=wait)
            self._next = slot + self.interval
            return slot

    def _queued(self, mobile: str, slot: float, now: float) -> None:
        ROOM.labels("queued").inc()
        position = max(1, math.ceil((slot - now) / self.interval))
        wait = max(1, math.ceil(slot - now))
        raise ApiError(
            429,
            f"login queue: you are number {position}; send the login again with header "
            f"X-Queue-Ticket after {wait} s",
            queued=True, queue_position=position, ticket=self._ticket(mobile, slot), retry_after_s=wait,
        )

    def _ticket(self, mobile: str, slot: float) -> str:
        body = f"{slot:.3f}"
        return f"{body}.{self._sign(body, mobile)}"

    def _slot_of(self, ticket: str, mobile: str) -> float | None:
        """The ticket's slot, or None if it is malformed, forged or another mobile's."""
        body, _, signature = ticket.rpartition(".")  # the signature is base64url: no dot
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body, mobile).encode()):
            return None
        try:
            slot = float(body)
        except ValueError:
            return None
        return slot if math.isfinite(slot) else None

    def _sign(self, body: str, mobile: str) -> str:
        mac = hmac.new(self._key, f"{body}|{mobile}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
