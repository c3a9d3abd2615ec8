"""The simulated people: teachers and administrators as Locust ``FastHttpUser`` classes.

One user instance is one *session* the model started (an arrival of the plan,
``loadtests.session``). A teacher
session does what the model's session does (``sim.sessions.behaviour``): register on a first visit
(SMS code, school search, the form) or log in (password or SMS code); open the campaign
page (which shows progress); study the course the model would pick, playing its resources
with the player's heartbeats; take the course test once the rules unlock it, retrying until
full marks; or, after the certificate batch, fetch the certificate. Administrators look at
their teachers' progress.

Decisions are the model's own functions (``domain.decisions``: sign-in kind, school searches,
session budget, course choice, playlist, test readiness; ``loadtests.study`` feeds them the
campaign page's state) on draws from the scenario's distributions, with the rules module
(``domain.campaign.Campaign``) for test unlocks, credit and the chance of full marks on the n-th
attempt. Model time runs ``compress`` times faster: every think time and play time is
divided by it, so the test's load is ``scale * compress`` times the model's.

Each journey step is a task with a ``@tag``, so ``--tags study test`` or ``--exclude-tags
register`` pick journeys the usual Locust way (a step whose sign-in was filtered out signs in
with a password first). Expected refusals (a 404 certificate for a non-completer) count as
successes; anything else outside 2xx is a failure in Locust's statistics.
"""

from __future__ import annotations

import bisect
import time
from functools import lru_cache
from typing import TYPE_CHECKING

import gevent
import numpy as np
from locust import tag, task
from locust.exception import StopUser

from domain import decisions
from loadtests.accounts import resident_id
from loadtests.adapters import Registration
from loadtests.papers import answers as paper_answers
from loadtests.papers import attempt_minutes
from loadtests.plan import ADMIN, CERTIFICATE, REGISTRATION
from loadtests.registering import FORM, pick_school
from loadtests.session import OneSession, Session
from loadtests.study import TEST, InFlight, PageState, study

if TYPE_CHECKING:
    from loadtests.accounts import Account

MAX_ATTEMPTS = 100  # a safety bound: full-marks chances in scenarios reach ~1 within a few


class TeacherJourney(OneSession):
    """One teacher session, step by step; the sequence runs once, then the session ends."""

    def on_start(self) -> None:
        super().on_start()
        self.kind = self.session.arrival.kind if self.session.arrival is not None else None
        self.account: Account | None = None
        self.page: dict | None = None
        self.sub: str = "basic"  # set at sign-in or registration
        # a resumed session's test attempt in flight: (course, the paper fetched, seconds to submit)
        self.pending_test: tuple[int, dict, float] | None = None

    @property
    def ctx(self):
        return self.session.ctx

    # --- signing in -----------------------------------------------------------------------

    @tag("register")
    @task
    def register(self) -> None:
        if self.kind != REGISTRATION:
            return
        user, reg = self.session, self.ctx.scenario.behaviour.registration
        mobile = user.replay.roster.new_mobile(self.ctx.mobile_base)
        if mobile is None:
            user.no_account()  # --registrations used up: no made-up number instead
        sub = self._sub_platform()
        # one the model had in progress at the start sent its code before the stretch, and in
        # its form it had its school: both in the set-up window, counted apart (the server
        # refuses a registration whose phone was sent no code: 8 of 17 at 11:27 without it)
        left = user.arrival.registration_left if user.arrival is not None else None
        if not user.api.send_code(mobile, "register"):
            raise StopUser()
        in_form = left is not None and left[0] == FORM
        school = pick_school(user.api, user.rng, sub, 1) if in_form else None
        self._at_origin()
        if not in_form:
            user.pause(left[1] if left else user.draw(reg.code_entry_s))
            searches = decisions.school_searches(user.draw(reg.school_searches))
            school = pick_school(user.api, user.rng, sub, searches)
        if school is None:
            raise StopUser()
        user.pause(left[1] if left and in_form else user.draw(reg.form_s))
        serial = int(user.rng.integers(10**9))
        self.sub = str(school.get("sub_platform", sub))
        form = Registration(mobile, self.ctx.options.sms_code, "Yanxiu@2023", "测试教师", "resident_id",
                            resident_id(serial), school, self.sub)
        if not user.api.register(form):
            raise StopUser()
        user.signed_in = True
        if decisions.enrols(enrolled=False):  # a new account joins the campaign at once
            user.api.enrol()

    @tag("login")
    @task
    def login(self) -> None:
        if self.kind == REGISTRATION or self.session.signed_in:
            return
        share = self.ctx.scenario.behaviour.password_login_share
        self._log_in(by_password=decisions.signs_in_with_password(self.session.rng.random(), share))

    def _log_in(self, by_password: bool = True) -> None:
        user = self.session
        roster, sub = user.replay.roster, self._sub_platform()
        # a resumed session takes an account seeded in the state of the model's running sessions;
        # a new one an account not enrolled when it is its teacher's first session in the model,
        # else one enrolled and not done (``Plan._firsts``)
        first = user.arrival.first if user.arrival is not None else None
        stage = user.arrival.stage if user.arrival is not None else None
        self.account = roster.resumed(sub) if user.resumed else roster.teacher(sub, first, stage)
        if self.account is None:
            user.no_account()
        self.sub = self.account.sub_platform
        if user.resumed and user.api.resume_issued(self.account):
            signed_in = True  # the model's session signed in before the stretch
        elif by_password:
            signed_in = user.api.log_in(self.account, password=self.account.password)
        else:
            if not user.api.send_code(self.account.mobile, "login"):
                raise StopUser()
            user.pause(user.draw(self.ctx.scenario.behaviour.registration.code_entry_s))
            signed_in = user.api.log_in(self.account, code=self.ctx.options.sms_code)
        if not signed_in:
            raise StopUser()
        user.signed_in = True

    def _signed_in(self) -> None:
        """A step whose sign-in step was filtered out by tags signs in by password."""
        if not self.session.signed_in:
            self._log_in(by_password=True)

    # --- the campaign page, study and tests ------------------------------------------------

    @tag("campaign", "progress")
    @task
    def campaign_page(self) -> None:
        if self.kind == CERTIFICATE:
            return
        self._signed_in()
        self.page = self.session.api.study_state()
        if self.page is None:
            raise StopUser()
        if decisions.enrols(bool(self.page.get("enrolled", True))):
            self.session.api.enrol()

    @tag("study")
    @task
    def study(self) -> None:
        """The model's study loop (``loadtests.study`` on ``domain.decisions``): the course the
        model would pick, its playlist until the test unlocks and the credit minimum is
        reached (or the session's time or plays run out), its test until full marks, the
        next course."""
        if self.kind == CERTIFICATE:
            return
        self._signed_in()
        self._page()
        sessions = self.ctx.scenario.behaviour.sessions
        # a resumed session's step in flight and what its session has left, as seeded in its
        # account (none: it resumes with a budget of the time it has left, ``Plan.resumed``)
        flight = InFlight.parse(self.account.resume) if self.session.resumed and self.account else None
        budget, plays = (flight.budget_s, flight.plays) if flight else decisions.session_budget(
            self.session.draw(sessions.length_minutes), self.session.draw(sessions.resources_per_session))
        testing = TeacherJourney.take_test in self.tasks  # not filtered out by --tags
        state = PageState.from_page(self.ctx.tables, self._page())
        if flight is not None and flight.kind == TEST and testing:
            # the model's session fetched this attempt's paper before the stretch: this one does
            # in its set-up window, and submits it ``left_s`` after the origin (``_attempts``)
            paper = self.session.api.fetch_test(flight.course_id)
            self.pending_test = None if paper is None else (flight.course_id, paper, flight.left_s)
        study(self.ctx.tables, state, budget, plays, self._watch, self._test if testing else None, flight)
        self._at_origin()

    def _at_origin(self) -> None:
        """A resumed session's set-up is over (its sign-in, page load and first play's start beat,
        which the model's session did before the stretch): wait for the origin, from which its
        requests are the model's again. Nothing for a new session."""
        client = self.session.api.client
        if client.label:
            client.label = ""
            gevent.sleep(max(0.0, self.session.replay.t0 - time.time()))

    def _test(self, course) -> bool:
        self._at_origin()
        return self._attempts(course.cid, course.attempts)

    def _watch(self, course, resource: dict, seconds: float) -> float:
        """Play ``seconds`` of a resource with the sub-platform's heartbeat interval; the
        course's study time as the server counts it. Beats keep the player's timetable (a
        browser's timer), not a pause after each answer: a slow answer must not stretch the
        play, or the replay sends fewer heartbeats than the model the slower the target is."""
        ctx, session = self.ctx, self.session
        interval = float(ctx.scenario.platform.heartbeat_interval_s.get(self.sub, 60))
        position, api, cid, compress = 0.0, session.api, course.cid, ctx.compress
        api.start_play(cid, resource)  # the start beat (domain.decisions.beats_in_play)
        if api.client.label:  # a resumed session's first play began before the stretch in the model
            self._at_origin()
        started, counted = time.monotonic(), None
        # a session the model had mid-play at the first minute is at a uniform phase of its
        # beat interval (the stationary state), not at a beat: its first beat comes sooner
        phase = session.first_phase()
        pause_until, report = session.pause_until, api.report_progress  # looked up once a play
        while position < seconds:
            full = interval * phase
            step = min(full, seconds - position)
            phase = 1.0
            position += step
            pause_until(started + position / compress)
            counted = report(cid, resource, position, step, position >= seconds)
        # the target's count when it gives one, else the seconds played
        return course.studied_s + seconds if counted is None else counted

    @tag("test")
    @task
    def take_test(self) -> None:
        """Tests already unlocked, when the study step was left out by --tags (otherwise the
        study loop takes each test as the model does)."""
        if self.kind == CERTIFICATE or TeacherJourney.study in self.tasks:
            return
        self._signed_in()
        tables = self.ctx.tables
        state = PageState.from_page(tables, self._page())
        for slot, course in sorted(state.courses.items()):
            if course.passed or state.opens_s[slot] > state.now:
                continue
            unlocked = tables.campaign.test_unlocked(course.cid, course.studied_s)
            if decisions.ready_for_test(unlocked, course.studied_s, tables.min_study_s[slot]):
                self._attempts(course.cid, course.attempts)
                return

    def _attempts(self, cid: int, done: int) -> bool:
        """Attempts until full marks (unlimited in the rules; bounded here for safety);
        True once passed."""
        user, minutes = self.session, attempt_minutes(self.ctx.scenario, cid)
        for attempt in range(done + 1, done + 1 + MAX_ATTEMPTS):
            pending, self.pending_test = self.pending_test, None
            if pending is not None and pending[0] == cid:  # fetched before the origin
                paper, wait_s = pending[1], pending[2]
            else:
                paper, wait_s = user.api.fetch_test(cid), minutes * 60.0
            if paper is None:
                return False
            user.pause(wait_s)
            full = user.rng.random() < self.ctx.campaign.full_marks_probability(cid, attempt)
            answers = paper_answers(paper, self.ctx.answers, full, user.rng)
            passed = user.api.submit_test(cid, answers)
            if passed is None:
                return False
            if passed:
                return True
        return False

    @tag("certificate")
    @task
    def certificate(self) -> None:
        if self.kind != CERTIFICATE:
            return
        account = self.session.replay.roster.teacher()
        if account is None:
            self.session.no_account()
        if not self.session.sign_in_with_password(account):
            raise StopUser()
        self.session.api.certificate()

    # --- helpers ----------------------------------------------------------------------------

    def _page(self) -> dict:
        if self.page is None:  # the campaign step was filtered out by tags
            self.page = self.session.api.study_state() or {}
        return self.page

    def _sub_platform(self) -> str:
        """The sub-platform the model's session had (``Arrival.sub_platform``), else one drawn
        with the scenario's shares (a model run without ``arrivals.sessions.<sub>``)."""
        arrival = self.session.arrival
        if arrival is not None and arrival.sub_platform:
            return arrival.sub_platform
        names, cdf = _share_cdf(tuple(self.ctx.scenario.population.sub_platforms.items()))
        # Generator.choice(len(names), p=shares) without re-checking the shares each session: the
        # same one uniform draw and the same index (tests/loadtests/test_sub_platforms.py)
        return names[bisect.bisect_right(cdf, self.session.rng.random())]


class TeacherUser(Session):
    """A teacher's session: sign-in, campaign page, study, tests, or a certificate fetch."""

    tasks = [TeacherJourney]


class AdminJourney(OneSession):
    @tag("admin")
    @task
    def progress(self) -> None:
        user = self.session
        account = user.replay.roster.admin()
        if account is None:
            user.no_account()
        # the model counts an administrator's progress view and no sign-in (sim.population.background):
        # with a token issued before the test he is at his dashboard signed in, as there; without
        # one (a staging accounts file) he logs in, a login the model does not plan (+4% of smoke's)
        if not (user.api.resume_issued(account) or user.sign_in_with_password(account)):
            raise StopUser()
        user.signed_in = True
        user.api.admin_progress(account)


class AdminUser(Session):
    """A school (or county, province) administrator looking at progress."""

    tasks = [AdminJourney]


@lru_cache(maxsize=8)
def _share_cdf(shares: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    """The names and the normalised cumulative shares, as ``Generator.choice`` computes them."""
    cdf = np.cumsum(np.array([share for _, share in shares], dtype=float))
    cdf /= cdf[-1]
    return tuple(name for name, _ in shares), cdf.tolist()


def user_class_for(kind: int) -> type[Session]:
    return AdminUser if kind == ADMIN else TeacherUser

