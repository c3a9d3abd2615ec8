"""A replayed session as a Locust user: what every journey (``loadtests.journeys``) stands on.

One user instance is one *session* the model started (an arrival of the plan), launched by the
arrival scheduler (``loadtests.arrivals``), which hands it its arrival and the running replay.
``Session`` holds what a session's steps share: the target's API (``loadtests.adapters``), its
random stream (seeded by its arrival, so a replay is deterministic), the model's think and play
times compressed, the draws of a resumed session (the time it has left), and a sign-in that
reuses this process's token. ``OneSession`` runs a journey's steps once, then the session ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

import gevent
import numpy as np
from locust import SequentialTaskSet, constant
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from loadtests.adapters import Client
from loadtests.plan import RESUMED_SET_UP, SESSION, resumed_draw


class Session(FastHttpUser):
    """A session launched by the arrival scheduler (``loadtests.arrivals``)."""

    abstract = True
    wait_time = constant(0)
    arrival = None  # set by the scheduler before start
    # the running replay (``loadtests.arrivals.Replay``), set by its scheduler before start: typed
    # loosely so that this module does not import the scheduler that imports the journeys
    replay: Any = None

    def on_start(self) -> None:
        replay = self.replay
        if replay is None:  # only the replay's scheduler starts sessions
            raise StopUser()
        self.ctx = replay.context
        # the target's API: the reference's, or --api's adapter (loadtests.adapters)
        self.api = self.ctx.adapter(Client(self.client), self.ctx.target(self.host))
        # its requests per bin, with its kind and planned start (loadtests.noise)
        arrival = self.arrival
        group = "" if arrival is None else f"{arrival.kind}{'r' if arrival.resumed else ''}"
        self.api.client.counter = replay.bins.counter(group, arrival.at if arrival is not None else 0.0)
        self.signed_in = False
        index = self.arrival.index if self.arrival is not None else int(time.time() * 1e6)
        self.rng = np.random.default_rng([self.ctx.seed, index])
        self._draw: Callable[[Any], float] = self._sample
        remaining = self.arrival.remaining_minutes if self.arrival is not None else None
        self.resumed, self.played = remaining is not None, False
        if remaining is not None:  # a session the model had in progress when the stretch began
            length = self.ctx.scenario.behaviour.sessions.length_minutes
            self._draw = resumed_draw(self._sample, length, remaining)
        if arrival is not None and arrival.resumed:
            self.api.client.label = RESUMED_SET_UP  # until it resumes at the origin (TeacherJourney)

    def on_stop(self) -> None:
        api = getattr(self, "api", None)
        if api is not None and api.client.requests == 0 and not self.replay.stopping:
            self.replay.note_idle()  # ended by itself without touching the target

    def no_account(self) -> NoReturn:
        """This arrival found no account of its kind: counted, and the session ends."""
        self.replay.note_no_account(self.arrival.kind if self.arrival is not None else SESSION)
        raise StopUser()

    def pause(self, model_seconds: float) -> None:
        """Think or play time of the model, compressed."""
        gevent.sleep(max(0.0, float(model_seconds)) / self.ctx.compress)

    def first_phase(self) -> float:
        """The share of a beat interval before a play's first beat: uniform in (0, 1] for a
        resumed session's first play, else 1 (a new play beats after a whole interval)."""
        if not self.resumed or self.played:
            return 1.0
        self.played = True
        return 1.0 - float(self.rng.random())

    def pause_until(self, deadline: float) -> None:
        """Until ``deadline`` (time.monotonic()); at once when it has passed."""
        gevent.sleep(max(0.0, deadline - time.monotonic()))

    def draw(self, distribution) -> float:
        return self._draw(distribution)

    def _sample(self, distribution) -> float:
        return float(distribution.sample(self.rng))

    def sign_in_with_password(self, account) -> bool:
        """Log in with the account's password, reusing this process's token for it if any."""
        saved = self.replay.tokens.get(account.mobile)
        if saved is None:
            if not self.api.log_in(account, password=account.password):
                return False
            self.replay.tokens[account.mobile] = self.api.credentials()
        else:
            self.api.resume(saved)
        self.signed_in = True
        return True


class OneSession(SequentialTaskSet):
    """A sequence of steps that runs once, then the session (the Locust user) ends."""

    # the Locust user as a ``Session`` (Locust types ``self.user`` as any ``User``): an attribute,
    # not a property, because the steps read it a few times a request (the generator's CPU per
    # request is background the measured server pays for on a shared machine)
    session: Session

    def on_start(self) -> None:
        self.steps_left = len(self.tasks)
        user = self.user
        assert isinstance(user, Session)
        self.session = user

    def get_next_task(self):
        if self.steps_left <= 0:
            raise StopUser()
        self.steps_left -= 1
        return super().get_next_task()
