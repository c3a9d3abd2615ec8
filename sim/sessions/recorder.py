"""Per-minute accumulators filled by the teacher processes.

Point events (requests) add their weight to a minute's counter. Things that last (study
sessions, video viewers, video bitrate) are recorded as *difference arrays* with the
fractional first and last minute, so a span costs O(1) however long it is and the per-minute
value is the exact time-average concurrency (running sum at the end of each minute).
Heartbeats are not events: a viewer on a sub-platform with heartbeat interval h sends 1/h
requests per second, so heartbeat rate = viewers / h, minute by minute.
Sessions may be planned ahead (``sim.sessions.behaviour``), so requests can be added for later
minutes; nothing is ever added to a minute already closed.
All values are at full scale: every addition carries the teacher's stratum weight.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

SUBS = ("basic", "higher", "vocational")
SPANS = ("sessions", "viewers.basic", "viewers.higher", "viewers.vocational", "egress_kbps")
SESSIONS, EGRESS = 0, len(SPANS) - 1
ARRIVALS = 2 + len(SUBS)  # per minute: sessions, registrations, sessions by sub-platform
# what an overloaded or failing platform does to teachers, weighted totals of a run
# (sim.outputs.cascade reads them by these names)
TALLY = ("study_s", "deferred_study_s", "sessions_deferred", "deferral_s", "sessions_resumed",
         "teachers_affected", "sms_codes", "sms_resends", "sms_refused", "lag_s", "heartbeats",
         "heartbeats_lost", "study_lost_s", "room_waited", "room_wait_s", "room_left",
         "room_wait_max_s", "maintenance_deferred", "maintenance_cut", "unattended_s",
         "scripted_claimed_s", "scripted_beats")
# credit lag histogram (time from study to credit shown): bin edges in seconds
LAG_EDGES = (0.0, 60.0, 300.0, 600.0, 900.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 14400.0,
             28800.0, 86400.0)


LAG_S = TALLY.index("lag_s")
ROOM_WAIT_MAX = TALLY.index("room_wait_max_s")


def viewer_span(sub_platform: int) -> int:
    """The span of viewers on sub-platform ``SUBS[sub_platform]``."""
    return 1 + sub_platform


class Recorder:
    """Accumulates one run; ``close_minute`` is called once per simulated minute, in order."""

    def __init__(self, endpoints: list[str], minutes: int, days: int, day0_s: float,
                 heartbeat_s: dict[str, float], request_kb: dict[str, float] | None = None,
                 shut: list[bool] | None = None, stages: int = 0) -> None:
        self.endpoints = list(endpoints)
        self.index = {name: i for i, name in enumerate(self.endpoints)}
        self.sink = len(self.endpoints)  # hits on endpoints the scenario does not define
        self.minutes = minutes
        self.day0_s = day0_s  # seconds from local midnight to the window start
        self.extra = np.zeros((len(self.endpoints), minutes))  # background load, set before
        self._hits = [0.0] * (self.sink + 1)
        self._errors = 0.0
        self._retries = 0.0  # requests sent again: retries after a failure, SMS resends
        self._lost = 0.0  # sessions lost this minute
        # sessions, registrations started this minute, then sessions by sub-platform (SUBS): a
        # replay gives each session its sub-platform as the model's had it, since heartbeats
        # come from a few viewers on the 20-s sub-platforms (loadtests.plan.Series.by_sub)
        # then the sessions of teachers already enrolled by their credited courses (0 ..
        # ``stages - 1``): a replay gives each sign-in an account at its stage, since a course-1
        # session nearly always reaches its test (loadtests.plan.Series.by_stage)
        self.stages = stages
        self.width = ARRIVALS + stages
        self._arrivals = [0.0] * self.width
        # requests planned for later minutes: one row per endpoint, then the sink, errors, retries
        self._future = [[0.0] * (minutes + 1) for _ in range(self.sink + 3)]
        self._diff = [[0.0] * (minutes + 2) for _ in SPANS]
        self._running = [0.0] * len(SPANS)
        self._beats = [(SPANS.index(f"viewers.{sub}"), 60.0 / heartbeat_s[sub]) for sub in heartbeat_s]
        self._beat_index = self.index.get("heartbeat", -1)
        self._rows: list[list[float]] = []
        self._span_rows: list[list[float]] = []
        self._extra_rows: list[list[float]] = []  # the background load by minute, once running
        # per day, as lists while running (cheap item updates), arrays after ``finish``
        self._daily: dict[str, list[float]] = {
            name: [0.0] * days for name in ("sessions", "sessions_lost", "active", "registered")}
        self._sessions_daily = self._daily["sessions"]
        self._active_daily = self._daily["active"]
        # bytes some requests carry (kilobits per request), counted with the video egress
        self._kbits = [(self.index[name], kb * 8.0) for name, kb in (request_kb or {}).items()
                       if kb > 0 and name in self.index]
        self.shut = shut or []  # minutes the platform is closed: no request reaches it
        self.closed = 0
        self.sessions_simulated = 0  # session processes, unweighted
        self.session_seconds = 0.0  # weighted study-session time (Little's law's W)
        self.tally = [0.0] * len(TALLY)  # by TALLY's names
        self.lag = [0.0] * (len(LAG_EDGES) + 1)  # weighted study seconds per lag bin
        # the waiting room: one (joined at, left at, weight) triple per simulated stay, flat
        # doubles (24 bytes a stay); the queue's length and positions are computed from them at
        # the end (sim.outputs.cascade.room_queue)
        self.room = array("d")
        # results, after ``finish``: NumPy arrays (typed Any: the compiled build leaves them alone)
        self.daily: dict[str, Any] = {}
        self.counts: Any = None
        self.spans: dict[str, Any] = {}
        self.errors: Any = None
        self.retries: Any = None
        self.lost: Any = None
        self.arrivals: Any = None

    # --- called by the processes (hot path: keep it cheap) ------------------------------

    def hit_at(self, endpoint: int, at: float, weight: float) -> None:
        m = int(at / 60.0)
        if m <= self.closed:
            self._hits[endpoint] += weight
        elif m < self.minutes:
            self._future[endpoint][m] += weight

    def error_at(self, at: float, weight: float) -> None:
        m = int(at / 60.0)
        if m <= self.closed:
            self._errors += weight
        elif m < self.minutes:
            self._future[self.sink + 1][m] += weight

    def retry_at(self, at: float, weight: float) -> None:
        """A request sent again (a retry after a failure, an SMS code resent)."""
        m = int(at / 60.0)
        if m <= self.closed:
            self._retries += weight
        elif m < self.minutes:
            self._future[-1][m] += weight

    def count(self, name: int, weight: float) -> None:
        """Add to the run's ``TALLY[name]`` (a running maximum for room_wait_max_s)."""
        if name == ROOM_WAIT_MAX:
            self.tally[name] = max(self.tally[name], weight)
        else:
            self.tally[name] += weight

    def room_stay(self, joined: float, left: float, weight: float) -> None:
        """A teacher (of ``weight``) in the waiting room from ``joined`` until ``left`` (s)."""
        self.room.extend((joined, left, weight))

    def credit_lag(self, lag_s: float, weight: float) -> None:
        """``weight`` study seconds whose credit showed ``lag_s`` after they were studied."""
        self.tally[LAG_S] += lag_s * weight
        i = 0
        while i < len(LAG_EDGES) and lag_s >= LAG_EDGES[i]:
            i += 1
        self.lag[i] += weight

    def open(self, span: str, at: float, weight: float) -> None:
        self._edge(self._diff[SPANS.index(span)], at, weight)

    def close(self, span: str, at: float, weight: float) -> None:
        self._edge(self._diff[SPANS.index(span)], at, -weight)

    def open_session(self, at: float, weight: float) -> None:
        self._edge(self._diff[SESSIONS], at, weight)
        self.session_seconds -= weight * at

    def close_session(self, at: float, weight: float) -> None:
        self._edge(self._diff[SESSIONS], at, -weight)
        self.session_seconds += weight * at

    def open_view(self, span: int, at: float, viewers: float, kbps: float) -> None:
        """Viewers (of span ``viewer_span(sub)``) and their bitrate start (positive) or stop
        (negative) at ``at``."""
        m = at / 60.0
        i = int(m)
        if i >= self.minutes:
            return
        frac = m - i
        diff, egress = self._diff[span], self._diff[EGRESS]
        diff[i] += (1.0 - frac) * viewers
        diff[i + 1] += frac * viewers
        egress[i] += (1.0 - frac) * kbps
        egress[i + 1] += frac * kbps

    def _edge(self, diff: list[float], at: float, weight: float) -> None:
        m = at / 60.0
        i = int(m)
        if i >= self.minutes:
            return
        frac = m - i
        diff[i] += (1.0 - frac) * weight
        diff[i + 1] += frac * weight

    def session_started(self, at: float, weight: float, first_today: bool, sub: int = 0,
                        stage: int = -1) -> None:
        """A session of a teacher on sub-platform ``SUBS[sub]`` starts at ``at``; ``stage``: his
        credited courses when he is already enrolled (-1: his first session in the campaign)."""
        self._arrivals[0] += weight
        self._arrivals[2 + sub] += weight
        if 0 <= stage < self.stages:
            self._arrivals[ARRIVALS + stage] += weight
        self.sessions_simulated += 1
        day = int((at + self.day0_s) // 86400.0)
        self._sessions_daily[day] += weight
        if first_today:
            self._active_daily[day] += weight

    def registration_started(self, weight: float) -> None:
        self._arrivals[1] += weight

    def registered(self, at: float, weight: float) -> None:
        self._daily["registered"][self.day(at)] += weight

    def session_lost(self, at: float, weight: float) -> None:
        self._daily["sessions_lost"][self.day(at)] += weight
        m = int(at / 60.0)
        if m <= self.closed:
            self._lost += weight

    def day(self, at: float) -> int:
        return int((at + self.day0_s) // 86400.0)

    # --- once per minute ----------------------------------------------------------------

    def close_minute(self) -> list[float]:
        """Store the minute just finished; return what the tiers see of it at full scale:
        requests/s per endpoint (in ``endpoints`` order), then video egress in Gbps."""
        m = self.closed
        if not self._extra_rows:
            self._extra_rows = self.extra.T.tolist()
        running, diff = self._running, self._diff
        for k in range(len(running)):
            running[k] += diff[k][m]
        self._span_rows.append(running[:])
        hits = self._hits
        future = self._future
        extra = self._extra_rows[m]
        for i in range(self.sink):
            hits[i] += extra[i] + future[i][m]
        if self._beat_index >= 0:
            beats = 0.0
            for span, per_min in self._beats:
                beats += running[span] * per_min
            hits[self._beat_index] += max(beats, 0.0)  # running sums carry float noise
        errors = self._errors + future[self.sink + 1][m]
        retries = self._retries + future[-1][m]
        if self.shut and self.shut[m]:
            hits = [0.0] * (self.sink + 1)
            errors = retries = 0.0
        row = hits[: self.sink]
        row.append(errors)
        row.extend(self._arrivals)
        row.append(retries)
        row.append(self._lost)
        self._rows.append(row)
        rates = [h / 60.0 for h in hits[: self.sink]]
        egress_kbps = max(running[EGRESS], 0.0)
        for i, kbits in self._kbits:
            egress_kbps += rates[i] * kbits
        rates.append(egress_kbps * 1e-6)
        self._hits = [0.0] * (self.sink + 1)
        self._errors = self._retries = self._lost = 0.0
        self._arrivals = [0.0] * self.width
        self.closed += 1
        return rates

    def finish(self) -> None:
        """Turn the per-minute rows into arrays (after the last minute)."""
        width = self.width
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, self.sink + 3 + width)
        e = self.sink
        self.counts = np.ascontiguousarray(rows[:, :e].T)
        self.errors = rows[:, e].copy()
        self.arrivals = np.ascontiguousarray(rows[:, e + 1:e + 1 + width].T)
        self.retries = rows[:, e + 1 + width].copy()
        self.lost = rows[:, e + 2 + width].copy()
        spans = np.array(self._span_rows, dtype=np.float64).reshape(-1, len(SPANS))
        self.spans = {name: np.maximum(spans[:, i], 0.0) for i, name in enumerate(SPANS)}
        self._rows, self._span_rows, self._future, self._extra_rows = [], [], [], []
        self._diff = []
        self.daily = {name: np.array(values, dtype=np.float64) for name, values in self._daily.items()}

    def totals(self) -> dict[str, Any]:
        """A finished recorder's results as plain data (what a shard's process sends back)."""
        return {"counts": self.counts, "errors": self.errors, "arrivals": self.arrivals,
                "retries": self.retries, "lost": self.lost, "tally": self.tally, "lag": self.lag,
                "room": self.room, "spans": self.spans, "daily": self.daily,
                "sessions_simulated": self.sessions_simulated, "session_seconds": self.session_seconds}

    def absorb(self, totals: dict[str, Any]) -> None:
        """Add a finished recorder's ``totals`` (a shard's of the same run) into this one; a
        recorder that ran no minute takes them as its own."""
        if self.counts is None:
            self.counts = np.zeros_like(totals["counts"])
            self.errors = np.zeros_like(totals["errors"])
            self.retries = np.zeros_like(totals["retries"])
            self.lost = np.zeros_like(totals["lost"])
            self.arrivals = np.zeros_like(totals["arrivals"])
            self.spans = {name: np.zeros_like(values) for name, values in totals["spans"].items()}
            self.daily = {name: np.zeros_like(values) for name, values in totals["daily"].items()}
        self.counts += totals["counts"]
        self.errors += totals["errors"]
        self.retries += totals["retries"]
        self.lost += totals["lost"]
        for k, value in enumerate(totals["tally"]):
            self.count(k, value)
        for k, value in enumerate(totals["lag"]):
            self.lag[k] += value
        self.room.extend(totals["room"])
        self.arrivals += totals["arrivals"]
        for name, values in totals["spans"].items():
            self.spans[name] += values
        for name, values in totals["daily"].items():
            self.daily[name] += values
        self.sessions_simulated += int(totals["sessions_simulated"])
        self.session_seconds += float(totals["session_seconds"])

    # --- results ------------------------------------------------------------------------

    def series(self) -> dict[str, np.ndarray]:
        """Columns of the time series (without tiers), full scale, per second where rates."""
        cols: dict[str, np.ndarray] = {}
        for i, name in enumerate(self.endpoints):
            cols[f"rps.{name}"] = self.counts[i] / 60.0
        cols["rps.total"] = self.counts.sum(axis=0) / 60.0
        cols["sessions"] = self.spans["sessions"]
        cols["viewers"] = sum(self.spans[f"viewers.{s}"] for s in SUBS)
        egress_kbps = self.spans["egress_kbps"]
        for i, kbits in self._kbits:
            egress_kbps = egress_kbps + self.counts[i] / 60.0 * kbits
        cols["egress_gbps"] = egress_kbps * 1e-6
        sms = self.index.get("sms_send")
        cols["sms_per_s"] = self.counts[sms] / 60.0 if sms is not None else np.zeros(self.minutes)
        cols["arrivals.sessions"] = self.arrivals[0]
        cols["arrivals.registrations"] = self.arrivals[1]
        for k, s in enumerate(SUBS):  # after the leading columns docs/results.md fixes
            cols[f"arrivals.sessions.{s}"] = self.arrivals[2 + k]
            cols[f"viewers.{s}"] = self.spans[f"viewers.{s}"]
        for k in range(self.stages):
            cols[f"arrivals.enrolled.{k}"] = self.arrivals[ARRIVALS + k]
        cols["errors_per_s"] = self.errors / 60.0
        cols["retries_per_s"] = self.retries / 60.0
        cols["sessions_lost_per_min"] = self.lost
        return cols
