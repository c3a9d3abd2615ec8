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

from typing import Any

import numpy as np

SUBS = ("basic", "higher", "vocational")
SPANS = ("sessions", "viewers.basic", "viewers.higher", "viewers.vocational", "egress_kbps")
SESSIONS, EGRESS = 0, len(SPANS) - 1


def viewer_span(sub_platform: int) -> int:
    """The span of viewers on sub-platform ``SUBS[sub_platform]``."""
    return 1 + sub_platform


class Recorder:
    """Accumulates one run; ``close_minute`` is called once per simulated minute, in order."""

    def __init__(self, endpoints: list[str], minutes: int, days: int, day0_s: float,
                 heartbeat_s: dict[str, float], request_kb: dict[str, float] | None = None,
                 shut: list[bool] | None = None) -> None:
        self.endpoints = list(endpoints)
        self.index = {name: i for i, name in enumerate(self.endpoints)}
        self.sink = len(self.endpoints)  # hits on endpoints the scenario does not define
        self.minutes = minutes
        self.day0_s = day0_s  # seconds from local midnight to the window start
        self.extra = np.zeros((len(self.endpoints), minutes))  # background load, set before
        self._hits = [0.0] * (self.sink + 1)
        self._errors = 0.0
        self._arrivals = [0.0, 0.0]  # sessions, registrations started this minute
        # requests planned for later minutes: one row per endpoint, then the sink, then errors
        self._future = [[0.0] * (minutes + 1) for _ in range(self.sink + 2)]
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
        # results, after ``finish``: NumPy arrays (typed Any: the compiled build leaves them alone)
        self.daily: dict[str, Any] = {}
        self.counts: Any = None
        self.spans: dict[str, Any] = {}
        self.errors: Any = None
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
            self._future[-1][m] += weight

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

    def session_started(self, at: float, weight: float, first_today: bool) -> None:
        self._arrivals[0] += weight
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
        errors = self._errors + future[-1][m]
        if self.shut and self.shut[m]:
            hits = [0.0] * (self.sink + 1)
            errors = 0.0
        row = hits[: self.sink]
        row.append(errors)
        row.extend(self._arrivals)
        self._rows.append(row)
        rates = [h / 60.0 for h in hits[: self.sink]]
        egress_kbps = max(running[EGRESS], 0.0)
        for i, kbits in self._kbits:
            egress_kbps += rates[i] * kbits
        rates.append(egress_kbps * 1e-6)
        self._hits = [0.0] * (self.sink + 1)
        self._errors = 0.0
        self._arrivals = [0.0, 0.0]
        self.closed += 1
        return rates

    def finish(self) -> None:
        """Turn the per-minute rows into arrays (after the last minute)."""
        rows = np.array(self._rows, dtype=np.float64).reshape(-1, self.sink + 3)
        e = self.sink
        self.counts = np.ascontiguousarray(rows[:, :e].T)
        self.errors = rows[:, e].copy()
        self.arrivals = np.ascontiguousarray(rows[:, e + 1:].T)
        spans = np.array(self._span_rows, dtype=np.float64).reshape(-1, len(SPANS))
        self.spans = {name: np.maximum(spans[:, i], 0.0) for i, name in enumerate(SPANS)}
        self._rows, self._span_rows, self._future, self._extra_rows = [], [], [], []
        self._diff = []
        self.daily = {name: np.array(values, dtype=np.float64) for name, values in self._daily.items()}

    def totals(self) -> dict[str, Any]:
        """A finished recorder's results as plain data (what a shard's process sends back)."""
        return {"counts": self.counts, "errors": self.errors, "arrivals": self.arrivals,
                "spans": self.spans, "daily": self.daily,
                "sessions_simulated": self.sessions_simulated, "session_seconds": self.session_seconds}

    def absorb(self, totals: dict[str, Any]) -> None:
        """Add a finished recorder's ``totals`` (a shard's of the same run) into this one; a
        recorder that ran no minute takes them as its own."""
        if self.counts is None:
            self.counts = np.zeros_like(totals["counts"])
            self.errors = np.zeros_like(totals["errors"])
            self.arrivals = np.zeros_like(totals["arrivals"])
            self.spans = {name: np.zeros_like(values) for name, values in totals["spans"].items()}
            self.daily = {name: np.zeros_like(values) for name, values in totals["daily"].items()}
        self.counts += totals["counts"]
        self.errors += totals["errors"]
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
        cols["errors_per_s"] = self.errors / 60.0
        return cols
