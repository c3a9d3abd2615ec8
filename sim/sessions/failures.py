"""The scenario's failure modes (``domain.failures``) as a teacher's session meets them.

``Journeys`` asks a ``Faults`` at the few points a mode changes a session: before an SMS code
is sent (the vendor's per-phone limits) and while it travels (delivery delay); after a play
(heartbeats lost on the way, or slower than the teacher's patience under overload, and the
processing delay before credit shows); at the session's start (a waiting room, an unattended
playlist); and for the plays of a scripted client. All draws come from the ``failures``
stream, and only for modes that are on, so a scenario without them draws nothing from it and
gives the results it gave before (the overload's lost heartbeats draw only under overload).
"""

from __future__ import annotations

import math

import numpy as np

from domain.scenario import Scenario
from sim import streams
from sim.sessions.recorder import TALLY, Recorder

INF = math.inf
HOUR, DAY = 3600.0, 86400.0
HEARTBEATS, LOST_BEATS = TALLY.index("heartbeats"), TALLY.index("heartbeats_lost")
STUDY_LOST = TALLY.index("study_lost_s")
SCRIPT_S, SCRIPT_BEATS = TALLY.index("scripted_claimed_s"), TALLY.index("scripted_beats")


class Faults:
    def __init__(self, scenario: Scenario, teachers: int, rng: np.random.Generator) -> None:
        f = scenario.failures
        self.u = streams.uniform(rng)
        self.per_hour = f.sms.per_phone_per_hour or 0
        self.per_day = f.sms.per_phone_per_day or 0
        self.sms_limited = f.sms.limited
        self.sent: dict[int, list[float]] = {}  # teacher -> when each SMS code was sent
        self.delivery = streams.of(f.sms.delivery_delay_s, rng) if f.sms.delivery_delay_s else None
        self.loss = f.heartbeats.loss
        self.lose_study = f.heartbeats.lost_study == "lost"
        delay = f.heartbeats.credit_delay_minutes
        self.credit_delay = streams.of(delay, rng) if delay is not None else None
        room = f.waiting_room
        self.leave_after = streams.of(room.leave_after_minutes, rng) if room is not None else None
        self.unattended = f.playback.unattended_share
        check = f.playback.attention_check_minutes
        self.check_s = check * 60.0 if check is not None else INF
        script = f.scripted
        self.speedup = 1.0 if script.server_checks else script.speedup
        self.scripted: list[bool] = []
        if script.share > 0:
            self.scripted = (rng.random(teachers) < script.share).tolist()

    # --- SMS --------------------------------------------------------------------------------

    def sms_refused(self, tid: int, now: float) -> bool:
        """Whether the vendor refuses another code to this teacher's phone now (per-phone
        limits over the last hour and day); a code sent is remembered."""
        sent = self.sent.setdefault(tid, [])
        sent[:] = [t for t in sent if t > now - DAY]
        if self.per_day and len(sent) >= self.per_day:
            return True
        if self.per_hour and sum(1 for t in sent if t > now - HOUR) >= self.per_hour:
            return True
        sent.append(now)
        return False

    def delivery_s(self) -> float:
        return self.delivery() if self.delivery is not None else 0.0

    # --- heartbeats -------------------------------------------------------------------------

    def beats(self, rec: Recorder, w: float, seconds: float, beat_s: float,
              p_slow: float) -> tuple[float, float]:
        """A play of ``seconds`` beating every ``beat_s``: each beat is lost with the scenario's
        loss, or when slower than the teacher's patience (``p_slow``). Returns the seconds
        credited and those credited one beat late (a lost beat's study rides on the next one,
        unless lost beats lose their study)."""
        n = max(1, math.ceil(seconds / beat_s))
        rec.count(HEARTBEATS, w * n)
        q = self.loss + (1.0 - self.loss) * p_slow
        if q <= 0.0:
            return seconds, 0.0
        lost = sum(1 for _ in range(n) if self.u() < q)
        if not lost:
            return seconds, 0.0
        rec.count(LOST_BEATS, w * lost)
        missed = min(seconds, lost * min(beat_s, seconds))
        if self.lose_study:
            rec.count(STUDY_LOST, w * missed)
            return seconds - missed, 0.0
        return seconds, missed

    def delay_s(self) -> float:
        """The processing delay before a play's credit shows."""
        return self.credit_delay() * 60.0 if self.credit_delay is not None else 0.0

    # --- playback ---------------------------------------------------------------------------

    def unattended_budget(self) -> float:
        """The study budget of a session left playing unattended (INF: until the credit
        minimum), or 0 when the teacher attends it."""
        if self.unattended > 0.0 and self.u() < self.unattended:
            return self.check_s
        return 0.0

    def script(self, rec: Recorder, heartbeat: int, w: float, start: float, claimed: float,
               beat_s: float) -> float:
        """A scripted client claims ``claimed`` seconds of study: no video, its heartbeats sent
        ``speedup`` times as often over ``claimed / speedup`` real seconds (each minute's share
        recorded in its minute). Returns the real seconds it takes."""
        real = claimed / self.speedup
        beats = claimed / beat_s
        rec.count(SCRIPT_S, w * claimed)
        rec.count(SCRIPT_BEATS, w * beats)
        t, end = start, start + real
        while t < end:
            step = min(end, (math.floor(t / 60.0) + 1.0) * 60.0) - t
            rec.hit_at(heartbeat, t, w * beats * step / real)
            t += step
        return real
