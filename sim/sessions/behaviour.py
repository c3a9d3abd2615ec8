"""Teacher journeys as SimPy processes: one short-lived process per study session.

A teacher is not a live process for the whole window (a live process costs ~0.8 KB and
every wake-up is an event); between sessions a teacher is a row in ``sim.sessions.progress.Ledger``
and an entry in ``sim.sessions.schedule``. A session does, in order:

1. registration on the first session of a teacher who did not take part before
   (SMS code request, waiting for the code and resending when it is slow, typing it, keyword
   searches for the school, the form), otherwise a login (password, or SMS code);
2. the campaign page, and in the teacher's first session the campaign's enrolment
   (``domain.decisions.enrols``; counted when the scenario's platform has an ``enrol`` endpoint);
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

The steps live in their own modules, as the bases of ``Journeys``: ``sim.sessions.client``
(requests, retries, SMS codes, login, registration) and ``sim.sessions.study`` (study, credit,
tests); this module holds the set-up, a session's life and the next session.
"""

from __future__ import annotations

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
from sim.sessions.study import Study
from sim.tiers.feedback import Feedback

NO_FOCUS = -1
INF = math.inf
(DEFERRED, DEFERRAL, RESUMED, AFFECTED, ROOM_WAITED, ROOM_WAIT, ROOM_LEFT, ROOM_WAIT_MAX, SHUT_DEFERRED,
 SHUT_CUT) = (
    TALLY.index(k) for k in (
        "sessions_deferred", "deferral_s", "sessions_resumed", "teachers_affected", "room_waited",
        "room_wait_s", "room_left", "room_wait_max_s", "maintenance_deferred", "maintenance_cut"))


class Journeys(Study):
    """Every teacher's sessions: set-up, a session's life (start, waiting room, giving up and
    coming back, end) and the next session; the steps are ``Study``'s and ``Client``'s."""

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
        # joined this campaign yet (``domain.decisions.enrols``): a returning teacher has an
        # account on the platform but joins each campaign in his first session
        self.enrolled = [False] * population.size
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
            "test_submit", decisions.ENROL)}
        self.SMS, self.SEARCH, self.REGISTER = ep["sms_send"], ep["school_search"], ep["register"]
        self.BEAT = self.rec.index.get("heartbeat", self.rec.sink)
        self.LOGIN, self.PAGE = ep["login"], ep["campaign_page"]
        self.FETCH, self.SUBMIT = ep["test_fetch"], ep["test_submit"]
        self.ENROL = ep[decisions.ENROL]
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
        rec.room_stay(self.env.now, self.env.now + min(wait, patience), w)
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
        # an enrolled teacher's stage (his credited courses), as a replay hands out its accounts
        stage = self.ledger.credited[tid].bit_count() if self.enrolled[tid] else -1
        rec.session_started(now, w, last[tid] != day, self.sub_span[tid] - 1, stage)
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
        if ok and decisions.enrols(self.enrolled[tid]):  # the first session joins the campaign
            ok = self._ok(self.ENROL, w, clock) or (yield from self._request(self.ENROL, w, clock))
            self.enrolled[tid] = ok
        if ok:
            for endpoint, per_session in self.extra:
                self.rec.hit_at(endpoint, clock[0], w * per_session)
            ok = yield from self._study(tid, w, focus, clock)
        clock[1] = ok

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
