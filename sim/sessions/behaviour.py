"""Teacher journeys as SimPy processes: one short-lived process per study session.

A teacher is not a live process for the whole window (a live process costs ~0.8 KB and
every wake-up is an event); between sessions a teacher is a row in ``sim.sessions.progress.Ledger``
and an entry in ``sim.sessions.schedule``. A session does, in order:

1. registration on the first session of a teacher who did not take part before
   (SMS code request, waiting for the code and resending when it is slow, typing it, keyword
   searches for the school, the form), otherwise a login (password, or SMS code);
2. the campaign page;
3. study: the open, not yet credited course with the lowest id (a mobilisation wave's
   courses first), resources played in order until the test unlocks and the credit minimum
   is reached, or the session's time budget or resource count runs out; the player's
   heartbeats and video bytes are *counted* into per-minute arrays (``sim.sessions.recorder``);
4. the course test once it unlocks, retried until full marks (fetch, answer, submit), then
   on to the next course while time remains.

Every request checks the current ``Feedback``: with the probability that the platform is
slower than the teacher's patience the request fails; the teacher retries (with the
scenario's probability, up to max_retries) or gives up the session and comes back hours
later. A slow SMS code is resent after ``sms_resend_after_s`` (only the latest code counts).

The journey is written once, as a generator that yields how long the teacher is busy. When
the platform is healthy at the session's start (``Feedback.healthy``: no request can be
slow) the whole session is planned at once, without a SimPy process (its requests, spans
and progress are recorded at their future instants); otherwise it runs as a SimPy process
that sleeps step by step so every request sees the state of the minute it is made in. After
the session the teacher's next session is drawn in operational time (``sim.population.arrivals``).
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import simpy

from domain import decisions
from domain.rules import RuleTables
from domain.scenario import Scenario
from sim import streams
from sim.population.arrivals import Profile
from sim.population.teachers import Population
from sim.sessions.failures import Faults
from sim.sessions.progress import Ledger
from sim.sessions.recorder import SUBS, TALLY, Recorder, viewer_span
from sim.sessions.schedule import Schedule
from sim.sessions.shared import Partner
from sim.tiers.feedback import Feedback

NO_FOCUS = -1
INF = math.inf
(STUDY, DEFERRED_STUDY, DEFERRED, DEFERRAL, RESUMED, AFFECTED, SMS_CODES, SMS_RESENDS, SMS_REFUSED,
 ROOM_WAITED, ROOM_WAIT, ROOM_LEFT, ROOM_WAIT_MAX, SHUT_DEFERRED, SHUT_CUT, UNATTENDED) = (
    TALLY.index(k) for k in (
        "study_s", "deferred_study_s", "sessions_deferred", "deferral_s", "sessions_resumed",
        "teachers_affected", "sms_codes", "sms_resends", "sms_refused", "room_waited", "room_wait_s",
        "room_left", "room_wait_max_s", "maintenance_deferred", "maintenance_cut", "unattended_s"))


class Journeys:
    def __init__(self, env: simpy.Environment, scenario: Scenario, tables: RuleTables,
                 population: Population, profile: Profile, recorder: Recorder,
                 feedback: Feedback, schedule: Schedule,
                 rngs: dict[str, np.random.Generator]) -> None:
        self.env, self.tables, self.pop, self.profile = env, tables, population, profile
        self.rec, self.fb, self.schedule = recorder, feedback, schedule
        self.courses = len(tables.course_ids)
        self.ledger = Ledger(population.size, self.courses)
        self.complete = tables.complete.tolist()
        self.weight = population.weight.tolist()
        self.registered = population.returning.tolist()
        self.quit_s = (population.quit_share * tables.required_study_s).tolist()
        self.total_s = [0.0] * population.size
        self.sub_span = [viewer_span(s) for s in population.sub.tolist()]
        self.wave_u = population.wave_u.tolist()  # per teacher: operational hour of each push
        self.window_end = profile.window_s
        self.closures = bool(profile.closures)  # sessions end when the platform shuts
        # shared credit (sim.campaigns): per course slot, (campaign, share, from_s, until_s,
        # its course slot) of the other campaigns its study also counts in; the same teachers'
        # journeys there (sim.sessions.shared.Partner, per campaign); seconds so credited
        self.routes: list[list[tuple[int, float, float, float, int]]] = [[] for _ in range(self.courses)]
        self.partners: dict[int, Partner] = {}
        self.routed: list[float] = []
        self.lost_at: dict[int, float] = {}  # teachers to come back after a lost session: when
        self.affected: set[int] = set()  # teachers who lost a session or left the waiting room
        self._constants(scenario)
        self._draws(scenario, rngs)
        heartbeat = {str(sub): float(s) for sub, s in scenario.platform.heartbeat_interval_s.items()}
        beat_s = [heartbeat.get(sub, 60.0) for sub in SUBS]  # every sub-platform with teachers has one
        self.beat_s = [beat_s[s] for s in population.sub.tolist()]
        self.faults = Faults(scenario, population.size, rngs["failures"])
        # when each course cell's latest study shows as credit (a processing delay is on)
        self.shown_at = [0.0] * (population.size * self.courses) if self.faults.credit_delay else None

    def _constants(self, scenario: Scenario) -> None:
        beh, plat = scenario.behaviour, scenario.platform
        ep = {name: self.rec.index.get(name, self.rec.sink) for name in (
            "sms_send", "school_search", "register", "login", "campaign_page", "test_fetch",
            "test_submit")}
        self.SMS, self.SEARCH, self.REGISTER = ep["sms_send"], ep["school_search"], ep["register"]
        self.BEAT = self.rec.index.get("heartbeat", self.rec.sink)
        self.LOGIN, self.PAGE = ep["login"], ep["campaign_page"]
        self.FETCH, self.SUBMIT = ep["test_fetch"], ep["test_submit"]
        over = beh.overload
        self.patience_s, self.retry_p, self.max_retries = (
            over.abandon_after_s, over.retry_probability, over.max_retries)
        self.resend_s = over.sms_resend_after_s
        self.password_share = beh.password_login_share
        self.kbps = [b.kbps + plat.audio_kbps for b in plat.video_bitrates]
        self.kbps_cum = np.cumsum([b.share for b in plat.video_bitrates]).tolist()
        self.waves = [[self.tables.course_ids.index(c) for c in w.courses] for w in beh.waves]
        self.video = [scenario.course(cid).video for cid in self.tables.course_ids]
        self.extra = [(self.rec.index.get(name, self.rec.sink), float(n))
                      for name, n in beh.session_requests.items() if n > 0]

    def _draws(self, scenario: Scenario, rngs: dict[str, np.random.Generator]) -> None:
        beh = scenario.behaviour
        self.u = streams.uniform(rngs["sessions"])
        self.u_over = streams.uniform(rngs["overload"])
        self.u_test = streams.uniform(rngs["tests"])
        self.length_min = streams.of(beh.sessions.length_minutes, rngs["sessions"])
        self.gap_h = streams.of(beh.sessions.gap_hours, rngs["sessions"])
        self.resources = streams.of(beh.sessions.resources_per_session, rngs["sessions"])
        self.come_back_h = streams.of(beh.overload.come_back_after_hours, rngs["overload"])
        reg = beh.registration
        self.code_entry_s = streams.of(reg.code_entry_s, rngs["registration"])
        self.searches = streams.of(reg.school_searches, rngs["registration"])
        self.form_s = streams.of(reg.form_s, rngs["registration"])

    # --- the session process ------------------------------------------------------------

    def start(self, tid: int, at: float, focus: int) -> None:
        """Begin a session at ``at`` (now or later in the current minute). When no request
        can fail (``Feedback.healthy``) the session cannot be affected by the platform, so it
        is planned whole right away, without a process; otherwise it runs as a process."""
        if self.closures and self.profile.reopens_at(at) > at:
            self.schedule.add(tid, self.profile.reopens_at(at), focus)  # shut: come back later
            self.rec.count(SHUT_DEFERRED, self.weight[tid])
            return
        if self.fb.healthy:
            if at < self.window_end:
                clock = self._begin(tid, at, focus)
                for _ in self._journey(tid, self.weight[tid], focus, clock):
                    pass
                self._end(tid, focus, clock)
        else:
            self.env.process(self.session(tid, at, focus))

    def session(self, tid: int, start: float, focus: int):
        """The session as a SimPy process: sleeps for each step, so every request sees the
        platform's state of the minute it is made in."""
        env = self.env
        if start > env.now:
            yield env.timeout(start - env.now)
        if env.now >= self.window_end:
            return
        wait = self.fb.room_wait_s
        if wait > 0.0:  # admission control: queue until admitted, or give up and come back
            admitted = yield from self._wait_in_room(tid, wait, focus)
            if not admitted or env.now >= self.window_end:
                return
        clock = self._begin(tid, env.now, focus)
        for busy in self._journey(tid, self.weight[tid], focus, clock):
            yield env.timeout(busy)
        self._end(tid, focus, clock)

    def _wait_in_room(self, tid: int, wait: float, focus: int):
        rec, w = self.rec, self.weight[tid]
        patience = self.faults.leave_after() * 60.0 if self.faults.leave_after is not None else INF
        rec.count(ROOM_WAITED, w)
        rec.count(ROOM_WAIT_MAX, wait)
        if wait <= patience:
            rec.count(ROOM_WAIT, w * wait)
            yield self.env.timeout(wait)
            return True
        rec.count(ROOM_WAIT, w * patience)
        rec.count(ROOM_LEFT, w)
        yield self.env.timeout(patience)
        self._defer(tid, self.env.now, focus)
        return False

    def _defer(self, tid: int, now: float, focus: int) -> None:
        """The teacher gives the session up and comes back hours later (if still in the window)."""
        w = self.weight[tid]
        if tid not in self.affected:
            self.affected.add(tid)
            self.rec.count(AFFECTED, w)
        later = now + self.come_back_h() * 3600.0
        if later < self.window_end:
            self.rec.count(DEFERRED, w)
            self.lost_at[tid] = now
            self.schedule.add(tid, later, focus)

    def _begin(self, tid: int, now: float, focus: int) -> list:
        rec = self.rec
        if focus >= 0:
            self.wave_u[tid][focus] = INF  # this wave's push is used up
        w = self.weight[tid]
        day = rec.day(now)
        last = self.ledger.last_day
        rec.session_started(now, w, last[tid] != day)
        last[tid] = day
        rec.open_session(now, w)
        cut = self.profile.open_until(now) if self.closures else self.window_end
        lost_at = self.lost_at.pop(tid, None)
        if lost_at is not None:  # back after a lost session: what follows was deferred
            rec.count(RESUMED, w)
            rec.count(DEFERRAL, w * (now - lost_at))
        # the journey's own clock, its outcome, when study must stop, whether it was deferred
        return [now, True, cut, lost_at is not None]

    def _end(self, tid: int, focus: int, clock: list) -> None:
        end, w = clock[0], self.weight[tid]
        if self.closures:
            if end > clock[2] and clock[2] < self.window_end:
                self.rec.count(SHUT_CUT, w)
            end = min(end, clock[2])  # the platform shut: the session is over
        self.rec.close_session(end, w)
        if clock[1]:
            self._plan_next(tid, end)
        else:
            self.rec.session_lost(end, w)
            self._defer(tid, end, focus)

    # --- the journey: yields busy seconds, advancing clock[0] ---------------------------

    def _journey(self, tid: int, w: float, focus: int, clock: list):
        if self.registered[tid]:
            ok = yield from self._login(tid, w, clock)
        else:
            ok = yield from self._register(tid, w, clock)
        if ok:
            ok = self._ok(self.PAGE, w, clock) or (yield from self._request(self.PAGE, w, clock))
        if ok:
            for endpoint, per_session in self.extra:
                self.rec.hit_at(endpoint, clock[0], w * per_session)
            ok = yield from self._study(tid, w, focus, clock)
        clock[1] = ok

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

    # --- study and tests ----------------------------------------------------------------

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
            rec.open_view(span, start, w, w * kbps)
        busy = seconds
        clock[0] += busy
        yield busy
        if video:
            rec.open_view(span, clock[0], -w, -w * kbps)
        if stalled:
            rec.error_at(clock[0], w)
            return False
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

    # --- between sessions ---------------------------------------------------------------

    def _plan_next(self, tid: int, now: float) -> None:
        t, profile = self.tables, self.profile
        done = self.ledger.credited[tid]
        if self.complete[done] or self.total_s[tid] >= self.quit_s[tid]:
            return  # finished, or a drop-out stops here
        u_now = profile.op_hour(now)
        u = u_now + self.gap_h()
        if self._pick_course(tid, NO_FOCUS, now) < 0:
            later = [o for slot, o in enumerate(t.opens_s) if not done >> slot & 1 and o > now]
            if not later:
                return
            u = profile.op_hour(min(later)) + self.gap_h()
        focus = NO_FOCUS
        if self.waves:
            for i, wave_u in enumerate(self.wave_u[tid]):
                if u_now < wave_u < u:
                    u, focus = wave_u, i
        start = profile.real_at(u)
        if start < self.window_end:
            self.schedule.add(tid, start, focus)
