"""Adapters: how the journeys' operations reach a target whose API is not the reference's.

The journeys (``loadtests.journeys``) decide *what* a teacher does, with the model's own
functions and the rules module; an adapter decides *how* each step is asked of the target:
paths, request bodies, answer fields, extra calls (a catalogue fetch, a study-details post,
an asynchronous begin-and-poll). One adapter instance serves one session, so it may keep
the session's state (token, user id, the target's ids of courses and resources).

``yanxiu loadtest --api module:Class`` (or plain Locust's ``--api``) picks the class;
the default is ``loadtests.adapters.reference:ReferenceAdapter`` (the reference platform,
docs/api.md, with ``--route-map`` for other paths). ``loadtests.adapters.uc_example`` is a
worked example for an API of the real platform's shape (docs/loadtests.md, "Staging").

Write one by subclassing ``Adapter`` and implementing its operations; send every request
through ``self.client.request`` (the request's *name* is what Locust's statistics and
``summary.json`` report, so use the model's endpoint names where the step is the same).
Nothing here imports Locust: an adapter can be unit-tested with any object that has the
``Client`` methods.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_API = "loadtests.adapters.reference:ReferenceAdapter"
OK = (200, 201, 202, 204)


class AdapterError(ValueError):
    """An ``--api`` that cannot be loaded; str() names the option in one line."""


class Client:
    """The session's HTTP client, as adapters see it: named requests, counted, with failures
    reported to Locust's statistics. Wraps the Locust user's ``FastHttpSession``."""

    def __init__(self, http: Any, sleep: Any = None) -> None:
        self.http = http  # has .request(method, url, name=, json=, headers=, catch_response=)
        self.requests = 0  # sent by this session (a session that sends none is counted)
        self._sleep = sleep
        # appended to every request's name while set: a resumed session's sign-in and page
        # load happened before the stretch in the model, so they are counted apart
        self.label = ""
        # called with each finished request's name (loadtests.noise.BinTally: requests per bin
        # and session, for the replay's sampling band)
        self.counter: Any = None

    def request(self, name: str, method: str, url: str, *, json: Any = None, headers: dict | None = None,
                ok: Iterable[int] = OK, expected: Iterable[int] = (), fast: bool = False,
                parse: bool = True) -> Any:
        """Send a request; its JSON answer when the status is in ``ok`` (``{}`` when empty),
        else None. A status in ``expected`` (a 404 that means "no certificate yet") is a
        success in the statistics; any other status is a failure. ``fast`` skips the
        response bookkeeping on the hot path (Locust itself counts 4xx/5xx as failures);
        ``parse=False`` does not read the answer. ``url`` may be absolute (a CDN host).
        A 429 or 503 with ``Retry-After`` (a shed request, a rate limit) is sent again after
        that many real seconds (plus a jitter), as clients do, at most ``RETRY_AFTER_TRIES``
        times and only for waits up to ``RETRY_AFTER_MAX_S`` (each try counts in the statistics). A 429 that
        queues the request in a waiting room (``queued`` and a ``ticket``, docs/api.md) is an
        expected answer: the request is sent again with the ticket (``X-Queue-Ticket``) after
        its Retry-After, at most ``QUEUE_POLLS`` times and ``QUEUE_BUDGET_S`` in all."""
        ok, expected, name = tuple(ok), tuple(expected), name + self.label
        tries, polls, queued_s = 0, 0, 0.0
        while True:
            answer, wait, ticket = self._once(name, method, url, json, headers, ok, expected, fast, parse)
            if self.counter is not None:
                self.counter(name)
            if ticket is not None and wait is not None:
                if polls == QUEUE_POLLS or queued_s + wait > QUEUE_BUDGET_S:
                    self.fail(name, "still queued in the waiting room; gave up")
                    return None
                polls, queued_s = polls + 1, queued_s + wait
                headers = {**(headers or {}), QUEUE_TICKET_HEADER: ticket}
            elif wait is None or tries == RETRY_AFTER_TRIES:
                return answer
            else:
                tries += 1
                wait *= 1 + RETRY_JITTER * _JITTER.random()
            self.sleep(wait)

    def _once(self, name: str, method: str, url: str, json: Any, headers: dict | None, ok: tuple,
              expected: tuple, fast: bool, parse: bool) -> tuple[Any, float | None, str | None]:
        """One try: (the answer as ``request`` gives it, the Retry-After wait or None, the
        waiting room's ticket or None)."""
        self.requests += 1
        if fast:
            resp = self.http.request(method, url, name=name, json=json, headers=headers)
            if resp.status_code not in ok:
                ticket = _queue_ticket(resp)
                return None, _retry_after(resp, QUEUE_MAX_WAIT_S if ticket else RETRY_AFTER_MAX_S), ticket
            return ((resp.json() if resp.content else {}) if parse else {}), None, None
        with self.http.request(method, url, name=name, json=json, headers=headers,
                               catch_response=True) as resp:
            ticket = None if resp.status_code in ok else _queue_ticket(resp)
            if ticket is not None:
                resp.success()  # queued is the room's answer, not a failure: the wait is the cost
                return None, _retry_after(resp, QUEUE_MAX_WAIT_S), ticket
            wait = None if resp.status_code in ok else _retry_after(resp)
            return self._judge(name, resp, ok, expected, parse), wait, None

    def _judge(self, name: str, resp: Any, ok: tuple, expected: tuple, parse: bool) -> Any:
        """The answer of a caught response, marking it a success or failure for Locust."""
        if resp.status_code in ok:
            if not parse:
                return {}
            try:
                return resp.json() if resp.content else {}
            except ValueError:
                resp.failure(f"{name}: answer is not JSON")
                return None
        if resp.status_code in expected:
            resp.success()
            return None
        resp.failure(f"{name}: HTTP {resp.status_code}{_detail(resp)}")
        return None

    def fail(self, name: str, reason: str) -> None:
        """Report a step that failed without a failing HTTP status (an answer of the wrong
        shape, a poll that never finished) as a failure in Locust's statistics."""
        event = getattr(self.http, "request_event", None)  # Locust's events.request
        if event is not None:
            event.fire(request_type="ADAPTER", name=name, response_time=0, response_length=0,
                       exception=RuntimeError(reason), context={})

    def sleep(self, seconds: float) -> None:
        """Wall-clock wait (polling an asynchronous job); cooperative under Locust."""
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            import gevent

            gevent.sleep(seconds)


RETRY_AFTER_TRIES = 3
# A shed request waits its Retry-After and up to half as long again, as clients do: without
# it every client shed in the same instant came back in the same instant and was shed again
# (measured: 24 players at an in-flight bound of 1, a third gave up after their 3 tries).
# Its own generator: the timing jitter must not move the journeys' seeded draws.
RETRY_JITTER = 0.5
_JITTER = random.Random()
RETRY_AFTER_MAX_S = 5.0  # longer waits (an SMS daily cap: hours) are not worth a session's time
# A login waiting room (docs/api.md): the ticket goes back in this header. A queued client
# waits longer than a shed one (its place is kept), within bounds.
QUEUE_TICKET_HEADER = "X-Queue-Ticket"
QUEUE_POLLS = 20
QUEUE_MAX_WAIT_S = 120.0
QUEUE_BUDGET_S = 600.0


def _retry_after(resp: Any, longest: float = RETRY_AFTER_MAX_S) -> float | None:
    """The wait a 429/503 asks for, in real seconds (docs/api.md), or None."""
    if resp.status_code not in (429, 503):
        return None
    try:
        wait = float(resp.headers.get("Retry-After", ""))
    except (TypeError, ValueError, AttributeError):
        return None
    return wait if 0 <= wait <= longest else None


def _queue_ticket(resp: Any) -> str | None:
    """The waiting room's ticket of a 429 that queued the request, or None."""
    if resp.status_code != 429 or not resp.content:
        return None
    try:
        answer = resp.json()
    except ValueError:
        return None
    ticket = answer.get("ticket") if isinstance(answer, dict) and answer.get("queued") else None
    return ticket if isinstance(ticket, str) and ticket else None


def _detail(resp: Any) -> str:
    """The answer's ``detail`` (docs/api.md errors), cut short, for Locust's failures table."""
    try:
        detail = resp.json().get("detail") if resp.content else None
    except (ValueError, AttributeError):
        detail = None
    return f": {str(detail)[:80]}" if detail else ""


@dataclass(frozen=True)
class Target:
    """What an adapter knows about the run: the campaign, its courses, the options."""

    campaign: str  # the scenario's name
    course_ids: tuple[int, ...]  # the scenario's course ids, in the rules' order
    sms_code: str  # the fixed code the target accepts for test mobiles
    routes: dict  # endpoint name -> loadtests.routes.Route (defaults + scenario + --route-map)
    host: str  # the target's base URL


@dataclass(frozen=True)
class Registration:
    """A new teacher's sign-up form, as the journeys fill it."""

    mobile: str
    code: str
    password: str
    real_name: str
    id_type: str
    id_number: str
    school: dict  # one of ``find_schools``' answers
    sub_platform: str


class Adapter:
    """The journeys' operations on a target. Subclass and implement each one.

    Return conventions: an operation that fails returns None or False (the request's
    failure is already in Locust's statistics) and the journey ends the session or the step.

    ``study_state`` returns the campaign state in the reference's campaign-page shape, which
    the model's decisions read (``loadtests.study.PageState``)::

        {"now": "2023-01-05T19:00:00+08:00",          # the target's campaign instant (ISO)
         "enrolled": true,
         "courses": [{"id": 1,                          # the scenario's course id
                      "studied_s": 1800.0,              # study time the target has credited
                      "resources": [{"id": "...", "duration_s": 910.0, "watched_s": 300.0}],
                      "test": {"passed": false, "attempts": 0}}]}
    """

    def __init__(self, client: Client, target: Target) -> None:
        self.client, self.target = client, target

    # --- signing in --------------------------------------------------------------------

    def send_code(self, mobile: str, purpose: str) -> bool:
        """Ask for an SMS code (``purpose`` register or login)."""
        raise NotImplementedError

    def find_schools(self, keyword: str, sub_platform: str) -> list[dict] | None:
        """School search while registering: schools as dicts with at least ``id``."""
        raise NotImplementedError

    def register(self, form: Registration) -> bool:
        """Sign up and stay signed in."""
        raise NotImplementedError

    def log_in(self, account: Any, password: str | None = None, code: str | None = None) -> bool:
        """Sign in as ``account`` (``loadtests.accounts.Account``) with a password or an SMS
        code."""
        raise NotImplementedError

    def credentials(self) -> Any:
        """What ``resume`` needs to sign in again without a request (a token and ids), kept
        per account by the process so that returning sessions reuse it."""
        raise NotImplementedError

    def resume(self, saved: Any) -> None:
        raise NotImplementedError

    def resume_issued(self, account: Any) -> bool:
        """Sign in without a request with the token the accounts file carries for ``account``
        (issued before the test: a session the model had signed in before the replayed
        stretch); False when the account has none or this API takes none."""
        return False

    # --- study ---------------------------------------------------------------------------

    def enrol(self) -> bool:
        """Join the campaign (after registering, or when ``study_state`` says not enrolled)."""
        raise NotImplementedError

    def study_state(self) -> dict | None:
        """The teacher's campaign state, in the shape of the class docstring."""
        raise NotImplementedError

    def start_play(self, course_id: int, resource: dict) -> None:
        """A play of ``resource`` (one of ``study_state``'s) begins."""
        raise NotImplementedError

    def report_progress(self, course_id: int, resource: dict, position_s: float, elapsed_s: float,
                        last: bool) -> float | None:
        """The player's periodic report (the heartbeat); ``last`` at the play's end. Returns
        the course's studied seconds as the target now counts them, or None if it does not
        say (the journey then counts the seconds played)."""
        raise NotImplementedError

    # --- tests and certificates ------------------------------------------------------------

    def fetch_test(self, course_id: int) -> dict | None:
        """The course test's paper: ``{"questions": [{"id": ..., "choices": [...]}]}``."""
        raise NotImplementedError

    def submit_test(self, course_id: int, answers: dict[str, int]) -> bool | None:
        """Answers by question id; True when passed (full marks), False if not, None on failure."""
        raise NotImplementedError

    def certificate(self) -> bool:
        """Fetch the certificate ("none yet" is a right answer, not a failure)."""
        raise NotImplementedError

    # --- administrators ----------------------------------------------------------------

    def admin_progress(self, account: Any) -> bool:
        """An administrator's view of their teachers' progress."""
        raise NotImplementedError


def load_adapter(spec: str | None) -> type[Adapter]:
    """``module:Class`` -> the class, checked to be an ``Adapter``; AdapterError otherwise."""
    spec = spec or DEFAULT_API
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise AdapterError(f"--api: expected module:Class (got {spec!r})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AdapterError(f"--api: cannot import {module_name}: {exc}") from None
    adapter = getattr(module, class_name, None)
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise AdapterError(f"--api: {spec}: not a subclass of loadtests.adapters.Adapter")
    missing = [name for name in OPERATIONS if getattr(adapter, name) is getattr(Adapter, name)]
    if missing:
        raise AdapterError(f"--api: {spec}: operations not implemented: {', '.join(missing)}")
    return adapter


OPERATIONS = ("send_code", "find_schools", "register", "log_in", "credentials", "resume", "enrol",
              "study_state", "start_play", "report_progress", "fetch_test", "submit_test", "certificate",
              "admin_progress")
