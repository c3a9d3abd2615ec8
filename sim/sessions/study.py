"""Study and tests in a session: the course to study (a mobilisation wave's first), its
resources played in order (video on the CDN, heartbeats, a scripted client's claim), the credit
and when it shows, shared credit in a teacher's other campaign, and test attempts until full
marks. The middle of ``sim.sessions.behaviour.Journeys`` (on top of the requests of
``sim.sessions.client.Client``), which sets every attribute declared here.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from domain import decisions
from domain.rules import RuleTables
from sim.sessions.client import Client
from sim.sessions.recorder import TALLY
from sim.sessions.shared import Partner
from sim.streams import Draws

INF = math.inf
STUDY, DEFERRED_STUDY, UNATTENDED = (TALLY.index(k) for k in ("study_s", "deferred_study_s", "unattended_s"))


class Study(Client):
    # set by Journeys (sim.sessions.behaviour)
    tables: RuleTables
    courses: int
    weight: Any  # per teacher: how many teachers the row stands for
    total_s: list[float]
    sub_span: list[int]
    beat_s: list[Any]
    routes: list[list[tuple[int, float, float, float, int]]]
    partners: dict[int, Partner]
    routed: list[float]
    shown_at: list[float] | None
    BEAT: int
    FETCH: int
    SUBMIT: int
    kbps: list[float]
    kbps_cum: Any
    waves: list[list[int]]
    video: list[bool]
    u_test: Draws
    length_min: Draws
    resources: Draws

    def _study(self, tid: int, w: float, focus: int, clock: list):
        budget, plays = decisions.session_budget(self.length_min(), self.resources())
        unattended = self.faults.unattended_budget()
        if unattended:  # the playlist runs on, muted, until the minimum or an attention check
            budget, plays = unattended, 1 << 30
        t, led, window_end = self.tables, self.ledger, clock[2]
        preferred = self.waves[focus] if focus >= 0 else ()
        base = tid * self.courses
        while budget > 0.0 and plays > 0 and clock[0] < window_end:
            slot = decisions.pick_course(t.opens_s, led.credited[tid], clock[0], preferred)
            if slot < 0:
                return True
            cell = base + slot
            need = t.target_s[slot] - led.studied[cell]
            if need > 0.0:
                watched, led.next_resource[cell], plays = decisions.playlist(
                    t.durations[slot], led.next_resource[cell], need, budget, plays)
                seconds = max(min(watched, window_end - clock[0]), 0.0)
                started = clock[0]
                ok = yield from self._watch(tid, w, slot, seconds, clock)
                scripted = self.faults.scripted and self.faults.scripted[tid]
                budget -= clock[0] - started if scripted else seconds  # a script's claim is quick
                if unattended:
                    self.rec.count(UNATTENDED, w * seconds)
                if not ok:
                    return False
            if led.passed_at[cell] < INF:
                continue  # passed earlier; the credit came with the study just recorded
            if self.shown_at is not None and self.shown_at[cell] > clock[0]:
                return True  # the study does not show yet: no test until a later session
            studied = led.studied[cell]
            unlocked = t.campaign.test_unlocked(t.course_ids[slot], studied)
            if not decisions.ready_for_test(unlocked, studied, t.min_study_s[slot]):
                return True  # out of time or resources before the test unlocks
            ok = yield from self._test(tid, w, slot, clock)
            if not ok:
                return False
        return True

    def _pick_course(self, tid: int, focus: int, now: float) -> int:
        preferred = self.waves[focus] if focus >= 0 else ()
        return decisions.pick_course(self.tables.opens_s, self.ledger.credited[tid], now, preferred)

    def _watch(self, tid: int, w: float, slot: int, seconds: float, clock: list):
        """Play video; a stream the CDN cannot serve stalls and the teacher gives up. A
        scripted client claims the study without video (``Faults.script``)."""
        rec, fb = self.rec, self.fb
        if self.faults.scripted and self.faults.scripted[tid]:
            busy = self.faults.script(rec, self.BEAT, w, clock[0], seconds, self.beat_s[tid])
            start = clock[0]
            clock[0] += busy
            yield busy
            self._credit(tid, w, slot, seconds, 0.0, start, clock)
            return True
        stalled = fb.video_ok < 1.0 and self.u_over() >= fb.video_ok
        if stalled:
            seconds = min(seconds, self.patience_s)
        kbps = self.kbps[min(bisect.bisect_right(self.kbps_cum, self.u()), len(self.kbps) - 1)]
        span, start, video = self.sub_span[tid], clock[0], self.video[slot]
        if video:
            rec.open_view(span, start, w, w * kbps)  # its viewers beat at 1 / interval
            rec.hit_at(self.BEAT, start, w)  # and the play's start beat (decisions.beats_in_play)
        busy = seconds
        clock[0] += busy
        yield busy
        if video:
            rec.open_view(span, clock[0], -w, -w * kbps)
        if stalled:
            rec.error_at(clock[0], w)
            return False
        if video:  # the last part interval is a whole beat; the viewers' rate counted its share
            beyond = decisions.beats_in_play(seconds, self.beat_s[tid])[1]
            rec.hit_at(self.BEAT, clock[0], w * (beyond - 1.0))
        credited, late = self.faults.beats(rec, w, seconds, self.beat_s[tid], fb.p_slow[self.BEAT])
        self._credit(tid, w, slot, credited, late, start, clock)
        return True

    def _credit(self, tid: int, w: float, slot: int, seconds: float, late: float, start: float,
                clock: list) -> None:
        """Record a play's credited study, and when it shows: at the next heartbeat (half an
        interval on average), plus the processing delay, plus a beat for study that rode on the
        next beat after its own was lost."""
        rec, end = self.rec, clock[0]
        delay = self.faults.delay_s()
        lag = 0.5 * min(self.beat_s[tid], end - start) + delay
        rec.credit_lag(lag, w * (seconds - late))
        if late:
            rec.credit_lag(lag + self.beat_s[tid], w * late)
        rec.count(STUDY, w * seconds)
        if clock[3]:
            rec.count(DEFERRED_STUDY, w * seconds)
        if self.shown_at is not None:
            self.shown_at[tid * self.courses + slot] = end + delay
        self._record_study(tid, slot, seconds, start, end, end + delay)

    def _record_study(self, tid: int, slot: int, seconds: float, start: float,
                      end: float, shown: float) -> None:
        """Study from ``start`` to ``end`` that shows as credit at ``shown``."""
        led = self.ledger
        if led.first_study_at[tid] == INF:
            led.first_study_at[tid] = start
        self.total_s[tid] += seconds
        for target, share, lo, hi, into in self.routes[slot]:
            overlap = min(end, hi) - max(start, lo)
            partner = self.partners.get(target)
            if overlap > 0.0 and partner is not None:  # the teacher is in that campaign too
                self.routed[target] += self.weight[tid] * partner.credit(
                    tid, into, share * min(seconds, overlap), shown)
        self.add_study(tid, slot, seconds, shown)

    def add_study(self, tid: int, slot: int, seconds: float, shown: float) -> None:
        """Study seconds recorded in a course, showing as credit at ``shown`` (also study of
        a shared resource in the teacher's other campaign, ``sim.sessions.shared``)."""
        led = self.ledger
        cell = tid * self.courses + slot
        studied = led.studied[cell] + seconds
        led.studied[cell] = studied
        if studied >= self.tables.min_study_s[slot] and led.min_reached_at[cell] == INF:
            led.min_reached_at[cell] = shown
            if led.passed_at[cell] < INF:
                led.credited[tid] |= 1 << slot

    def _test(self, tid: int, w: float, slot: int, clock: list):
        """Attempts until full marks; an attempt not submitted before the window closes is lost."""
        t, led = self.tables, self.ledger
        cell = tid * self.courses + slot
        while True:
            ok = self._ok(self.FETCH, w, clock) or (yield from self._request(self.FETCH, w, clock))
            if not ok:
                return False
            busy = t.attempt_s[slot]
            clock[0] += busy
            yield busy
            if clock[0] >= clock[2]:
                return True
            ok = self._ok(self.SUBMIT, w, clock) or (
                yield from self._request(self.SUBMIT, w, clock))
            if not ok:
                return False
            attempt = led.attempts[cell] + 1
            led.attempts[cell] = attempt
            if self.u_test() < t.full_marks_probability(slot, attempt):
                led.passed_at[cell] = clock[0]
                if led.min_reached_at[cell] <= clock[0]:
                    led.credited[tid] |= 1 << slot
                return True
