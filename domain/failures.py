"""Failure modes of a campaign platform (issue 14): the scenario's ``failures:`` section.

Every mode is off by default, so a scenario without the section models the platform as
before (and its results do not move). Each option says what turning it on means and where a
typical value comes from; the model draws from its own random stream (``failures``) only for
modes that are on (``sim.sessions.failures``).

- ``sms``: the SMS vendor's per-phone flow control and its delivery delay;
- ``heartbeats``: lost heartbeats and a processing delay before credit shows (credit lag);
- ``waiting_room``: admission control that queues new sessions instead of failing requests;
- ``maintenance``: hours the platform is shut (sessions cut, newcomers come back after);
- ``playback``: plays left running muted or unattended;
- ``scripted``: a share of teachers whose scripts claim study faster than real time.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from domain.distributions import Distribution
from domain.fields import Moment, Share, Strict


class SmsVendor(Strict):
    # Aliyun's default per-phone flow control is 1 code a minute (behaviour.overload's
    # sms_resend_after_s), 5 an hour and 10 a day [domain: Aliyun SMS flow control]; a code
    # past a limit is refused and that sign-in fails. null: no limit (the default).
    per_phone_per_hour: PositiveInt | None = None
    per_phone_per_day: PositiveInt | None = None
    # the carrier's delivery delay, added to the gateway's queueing delay; null: none (the
    # default). Estimate: a few seconds, with a tail of minutes at evening peaks.
    delivery_delay_s: Distribution | None = None

    @property
    def on(self) -> bool:
        return self.limited or self.delivery_delay_s is not None

    @property
    def limited(self) -> bool:
        return self.per_phone_per_hour is not None or self.per_phone_per_day is not None


class Heartbeats(Strict):
    # share of heartbeats lost on the way (network, a shed request); estimate, default 0. Under
    # overload a heartbeat slower than the teacher's patience is lost too.
    loss: Share = 0.0
    # what a lost beat's study becomes: "next_beat" (the player reports its position, so the
    # next beat carries it: credit is late) or "lost" (beats carry increments: never credited,
    # the teacher studies it again). Default next_beat, as the reference platform.
    lost_study: Literal["next_beat", "lost"] = "next_beat"
    # processing delay before credit shows ("credit hours that appear 30-60 minutes late", issue
    # 14; estimate uniform 30..60). null: credit shows at the beat (the default). A test unlocks
    # only once the study it needs shows.
    credit_delay_minutes: Distribution | None = None

    @property
    def on(self) -> bool:
        return self.loss > 0 or self.credit_delay_minutes is not None


class WaitingRoom(Strict):
    # Admission control ("queue mode"): while the busiest pool tier's utilisation is above
    # admit_utilisation, new sessions wait in a queue with a position instead of meeting failing
    # requests; admitted sessions see a platform held near that utilisation. Estimates.
    admit_utilisation: float = Field(default=0.9, gt=0, le=1)
    # how long a teacher stays in the queue before giving up and coming back later (estimate)
    leave_after_minutes: Distribution


class Maintenance(Strict):
    name: str = ""
    start: Moment  # local time, the scenario's timezone
    end: Moment

    @model_validator(mode="after")
    def _ordered(self) -> Maintenance:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class Playback(Strict):
    # share of sessions whose teacher leaves the playlist running muted or unattended: the
    # player plays on until the course's study minimum is reached (estimate, default 0)
    unattended_share: Share = 0.0
    # the platform's attention check ("are you still there?") every this many minutes; an
    # unattended play stops at the first one. null: no check (the default).
    attention_check_minutes: PositiveFloat | None = None


class Scripted(Strict):
    # share of participants who use a script (刷课 tools) instead of the player (estimate, default 0)
    share: Share = 0.0
    # a script claims study this many times faster than real time, beating as often (estimate:
    # the tools advertise hours in minutes); it downloads no video
    speedup: float = Field(default=20.0, ge=1)
    # the platform credits no more than the wall time that passed (issue 14 part 4): scripts
    # then gain nothing from speed and run in real time
    server_checks: bool = False


class Failures(Strict):
    sms: SmsVendor = SmsVendor()
    heartbeats: Heartbeats = Heartbeats()
    waiting_room: WaitingRoom | None = None  # null: no admission control (the default)
    maintenance: list[Maintenance] = []
    playback: Playback = Playback()
    scripted: Scripted = Scripted()


def check_maintenance(failures: Failures, start: dt.datetime, end: dt.datetime) -> None:
    """Each maintenance window lies inside the campaign window (naive local times)."""
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    for i, window in enumerate(failures.maintenance):
        if window.start.replace(tzinfo=None) < start or window.end.replace(tzinfo=None) > end:
            raise ValueError(f"@failures.maintenance[{i}]: {window.start}..{window.end} is outside "
                             f"the window {start}..{end}")
