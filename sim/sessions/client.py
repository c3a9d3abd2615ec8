"""A teacher's requests in a session, each decided by the platform's state of its minute
(``sim.tiers.feedback.Feedback``): the first try of a request that cannot fail, retries after
the teacher's patience runs out, SMS codes (waiting, resending a slow one, the vendor's
refusals), login and registration. The base of ``sim.sessions.behaviour.Journeys``, which sets
every attribute declared here; a step is a generator yielding the seconds the teacher is busy,
advancing ``clock[0]``.
"""

from __future__ import annotations

import math
from typing import Any

from domain import decisions
from sim.sessions.failures import Faults
from sim.sessions.progress import Ledger
from sim.sessions.recorder import TALLY, Recorder
from sim.streams import Draws
from sim.tiers.feedback import Feedback

SMS_CODES, SMS_RESENDS, SMS_REFUSED = (TALLY.index(k) for k in ("sms_codes", "sms_resends", "sms_refused"))


class Client:
    # set by Journeys (sim.sessions.behaviour)
    rec: Recorder
    fb: Feedback
    faults: Faults
    ledger: Ledger
    registered: Any  # per teacher: registered yet
    SMS: int
    SEARCH: int
    REGISTER: int
    LOGIN: int
    patience_s: float
    retry_p: float
    max_retries: int
    resend_s: float
    password_share: float
    u: Draws
    u_over: Draws
    code_entry_s: Draws
    searches: Draws
    form_s: Draws

    def _ok(self, endpoint: int, w: float, clock: list) -> bool:
        """The first try of a request when it cannot fail (no generator needed)."""
        if self.fb.p_slow[endpoint] > 0.0:
            return False
        self.rec.hit_at(endpoint, clock[0], w)
        return True

    def _request(self, endpoint: int, w: float, clock: list):
        """A request, retried after the teacher's patience runs out; True when one works."""
        rec, fb = self.rec, self.fb
        for attempt in range(self.max_retries + 1):
            rec.hit_at(endpoint, clock[0], w)
            if attempt:
                rec.retry_at(clock[0], w)
            p = fb.p_slow[endpoint]
            if p <= 0.0 or self.u_over() >= p:
                return True
            rec.error_at(clock[0], w)
            busy = self.patience_s
            clock[0] += busy
            yield busy
            if attempt == self.max_retries or self.u_over() >= self.retry_p:
                return False
        return False

    def _sms_code(self, tid: int, w: float, clock: list):
        """Request a code and wait for it; resend when it is slow (only the latest counts).
        A code's delay is exponential around the gateway's current mean delay, plus the
        carrier's delivery delay; the vendor may refuse a phone past its limits."""
        rec, faults = self.rec, self.faults
        for code in range(self.max_retries + 1):
            if faults.sms_limited and faults.sms_refused(tid, clock[0]):
                rec.count(SMS_REFUSED, w)
                return False
            ok = self._ok(self.SMS, w, clock) or (yield from self._request(self.SMS, w, clock))
            if not ok:
                return False
            rec.count(SMS_CODES, w)
            if code:
                rec.count(SMS_RESENDS, w)
                rec.retry_at(clock[0], w)
            delay = self.fb.sms_delay * -math.log(1.0 - self.u_over()) + faults.delivery_s()
            if delay <= self.resend_s:
                busy = delay + self.code_entry_s()
                clock[0] += busy
                yield busy
                return True
            busy = self.resend_s
            clock[0] += busy
            yield busy
        return False

    def _login(self, tid: int, w: float, clock: list):
        if not decisions.signs_in_with_password(self.u(), self.password_share):
            ok = yield from self._sms_code(tid, w, clock)
            if not ok:
                return False
        return self._ok(self.LOGIN, w, clock) or (
            yield from self._request(self.LOGIN, w, clock))

    def _register(self, tid: int, w: float, clock: list):
        self.rec.registration_started(w)
        ok = yield from self._sms_code(tid, w, clock)
        if not ok:
            return False
        for _ in range(decisions.school_searches(self.searches())):
            self.rec.hit_at(self.SEARCH, clock[0], w)
        busy = self.form_s()
        clock[0] += busy
        yield busy
        ok = self._ok(self.REGISTER, w, clock) or (
            yield from self._request(self.REGISTER, w, clock))
        if ok:
            self.registered[tid] = True
            self.ledger.registered_at[tid] = clock[0]
            self.rec.registered(clock[0], w)
        return ok
