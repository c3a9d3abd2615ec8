"""The arrival plan: the model's per-minute arrivals for one stretch, compressed and scaled.

The model (``yanxiu run``) writes full-scale arrivals per simulated minute to
``results/<scenario>/timeseries.csv``. A load test replays a stretch of it: every model
minute lasts ``60 / compress`` seconds of test time and carries ``scale`` times the
model's arrivals, so the test's request rate is about ``scale * compress`` times the
model's. Arrival *times* come from the cumulative planned count ``C(t)`` alone (an open
workload), never from how fast the target answers:

- ``deterministic``: arrival ``k`` (1-based) is due when ``C(t) = k - 1/2``, so every bin
  gets its planned count to within one arrival;
- ``poisson``: a unit-rate Poisson process mapped through ``C`` (time-changed Poisson), the
  textbook non-homogeneous Poisson process with intensity ``C'(t)``.

Pure numpy: no Locust here, so the maths is unit-tested on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loadtests.timing import set_up_s

KINDS = ("session", "registration", "admin", "certificate")
SESSION, REGISTRATION, ADMIN, CERTIFICATE = range(4)
TOLERANCE = 0.10  # the "within 10% per bin"
# the request-name suffix of a resumed session's sign-in and first page load: the model's
# session did those before the stretch, so they are not compared with the model's requests
RESUMED_SET_UP = " [resumed set-up]"
RESUMED_INDEX_BASE = 1_000_000_000  # sequence numbers of the sessions resumed at the start


class PlanError(ValueError):
    """A plan that cannot be built; str() names the option or file at fault."""


@dataclass(frozen=True)
class Series:
    """The model's per-minute columns that the load test replays (full scale)."""

    minutes: list[dt.datetime]
    sessions: np.ndarray
    registrations: np.ndarray
    admin: np.ndarray  # administrators' progress views per minute
    certificates: np.ndarray  # certificate fetches per minute
    in_progress: np.ndarray | None = None  # concurrent study sessions (``sessions`` column)
    # sessions started per minute by sub-platform (``arrivals.sessions.<sub>``) and the viewers
    # by sub-platform (``viewers.<sub>``); empty for a model run that does not write them
    by_sub: dict[str, np.ndarray] = field(default_factory=dict)
    viewers_by_sub: dict[str, np.ndarray] = field(default_factory=dict)
    # enrolments per minute (``rps.enrol``: every teacher's first session, registrations
    # included); None for a model run without the column (a platform without the endpoint)
    enrols: np.ndarray | None = None
    # sessions started per minute by teachers already enrolled, by their credited courses
    # (``arrivals.enrolled.<k>``); empty for a model run that does not write them
    by_stage: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.minutes)


def read_timeseries(path: str | Path) -> Series:
    """Read ``timeseries.csv`` (docs/results.md); only the columns the replay needs."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"{path}: no model time series (run `yanxiu run` first)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(row for row in handle if not row.startswith("#")))
    if not rows:
        raise PlanError(f"{path}: the time series has no rows")
    for required in ("minute", "arrivals.sessions"):
        if required not in rows[0]:
            raise PlanError(f"{path}: missing column {required!r}")

    def column(name: str, factor: float = 1.0) -> np.ndarray:
        if name not in rows[0]:
            return np.zeros(len(rows))
        return np.array([float(r[name] or 0.0) for r in rows]) * factor

    try:
        minutes = [dt.datetime.fromisoformat(r["minute"]) for r in rows]
        sessions = column("arrivals.sessions")
        return Series(minutes, sessions, np.minimum(column("arrivals.registrations"), sessions),
                      column("rps.admin_progress", 60.0), column("rps.certificate", 60.0),
                      column("sessions"), _by_sub(rows[0], "arrivals.sessions.", column),
                      _by_sub(rows[0], "viewers.", column),
                      column("rps.enrol", 60.0) if "rps.enrol" in rows[0] else None,
                      {int(k): v for k, v in _by_sub(rows[0], "arrivals.enrolled.", column).items()})
    except ValueError as exc:
        raise PlanError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Arrival:
    """One planned arrival: test time (s from the start), kind, and its sequence number."""

    at: float
    kind: int
    index: int
    # a session the model has in progress when the stretch starts: it resumes with this many
    # model minutes left (None: a new arrival, whose length the journey draws itself)
    remaining_minutes: float | None = None
    # a registration the model has in progress at the start (``loadtests.registering``): its
    # phase ("code" entry or "form") and the model seconds that phase's pause has left
    registration_left: tuple[str, float] | None = None
    # a teacher session's sub-platform as the model's sessions of its minute had them ("": the
    # journey draws it with the scenario's shares, for a model run without the columns)
    sub_platform: str = ""
    # a teacher session that is its teacher's first in the campaign (it enrols: the roster gives
    # it an account not enrolled), or a later one (an account enrolled and not done); None: the
    # model run does not say (``Series.enrols``)
    first: bool | None = None
    # a later session's stage as the model's sessions of its minute had them: its teacher's
    # credited courses (the roster gives it an account at that stage); None: not said
    stage: int | None = None

    @property
    def resumed(self) -> bool:
        """In progress at the start (not a planned arrival of the stretch)."""
        return self.remaining_minutes is not None or self.registration_left is not None


class Plan:
    """Planned arrivals per model minute at test scale, and their schedule in test time."""

    def __init__(self, series: Series, start: int, stop: int, compress: float, scale: float) -> None:
        if not compress > 0 or not math.isfinite(compress):
            raise PlanError(f"--compress: must be a positive number (got {compress})")
        if not 0 < scale <= 1000 or not math.isfinite(scale):
            raise PlanError(f"--scale: must be in (0, 1000] (got {scale})")
        if not 0 <= start < stop <= len(series):
            raise PlanError(f"--stretch: minutes {start}..{stop} are outside the time series")
        self.series, self.start, self.stop = series, start, stop
        self.compress, self.scale = float(compress), float(scale)
        self.minute_s = 60.0 / self.compress
        cut = slice(start, stop)
        self.per_minute = np.stack([
            series.sessions[cut], series.registrations[cut],
            series.admin[cut], series.certificates[cut]]) * self.scale

    @property
    def minutes(self) -> int:
        return self.stop - self.start

    @property
    def duration_s(self) -> float:
        return self.minutes * self.minute_s

    @property
    def first_minute(self) -> dt.datetime:
        return self.series.minutes[self.start]

    def arrivals_per_minute(self) -> np.ndarray:
        """Arrivals of every kind that start something (sessions, admin views, certificates)."""
        return self.per_minute[SESSION] + self.per_minute[ADMIN] + self.per_minute[CERTIFICATE]

    def cumulative(self, t: np.ndarray | float) -> np.ndarray:
        """Planned arrivals started by test time ``t`` (piecewise linear within a minute)."""
        edges = np.arange(self.minutes + 1) * self.minute_s
        cum = np.concatenate([[0.0], np.cumsum(self.arrivals_per_minute())])
        return np.interp(t, edges, cum)

    def total(self) -> float:
        return float(self.arrivals_per_minute().sum())

    def schedule(self, process: str = "deterministic",
                 rng: np.random.Generator | None = None) -> list[Arrival]:
        """All arrivals in test time, each with a kind; same inputs, same schedule."""
        edges = np.arange(self.minutes + 1) * self.minute_s
        cum = np.concatenate([[0.0], np.cumsum(self.arrivals_per_minute())])
        if process == "deterministic":
            marks = np.arange(int(math.floor(cum[-1] + 0.5))) + 0.5
        elif process == "poisson":
            if rng is None:
                raise PlanError("a Poisson schedule needs a random generator")
            gaps = rng.exponential(1.0, size=int(cum[-1] + 10 * math.sqrt(cum[-1] + 1) + 10))
            marks = np.cumsum(gaps)
            marks = marks[marks < cum[-1]]
        else:
            raise PlanError(f"--arrival-process: {process!r} is not deterministic or poisson")
        times = _inverse(marks, edges, cum)
        kinds = self._kinds(times, marks, rng if process == "poisson" else None)
        subs = self._subs(times, kinds, rng if process == "poisson" else None)
        firsts = self._firsts(times, kinds)
        stages = self._stages(times, firsts, rng if process == "poisson" else None)
        return [Arrival(float(t), int(k), i, sub_platform=sub, first=first, stage=stage)
                for i, (t, k, sub, first, stage) in enumerate(zip(times, kinds, subs, firsts, stages,
                                                                  strict=True))]

    def first_logins(self) -> np.ndarray | None:
        """Cumulative sessions by the stretch's minute edges that are their teacher's first in the
        campaign and sign in (not register), at test scale: the model's enrolments less its
        registrations (each registration enrols in its own session), kept from falling (a
        registration enrols a few model minutes after it starts, so the difference dips by the
        registrations in flight). None when the model run has no ``rps.enrol``."""
        if self.series.enrols is None:
            return None
        cut = slice(self.start, self.stop)
        surplus = np.cumsum(self.series.enrols[cut] * self.scale - self.per_minute[REGISTRATION])
        return np.maximum.accumulate(np.maximum(0.0, np.concatenate([[0.0], surplus])))

    def _firsts(self, times: np.ndarray, kinds: np.ndarray) -> list[bool | None]:
        """Which sign-in sessions are their teacher's first (``Arrival.first``; it enrols,
        ``domain.decisions.enrols``): 2 of smoke's 253 in the model's peak hour, where 12% of the
        seeded teachers at large are not enrolled, so an account drawn from all of them enrolled
        about 15 times as often as the model's sessions do. Deterministic: a session is a first
        one when the cumulative plan (``first_logins``) is half a session ahead of those flagged."""
        cumulative = self.first_logins()
        if cumulative is None:
            return [None] * len(times)
        edges = np.arange(self.minutes + 1) * self.minute_s
        due = np.interp(times, edges, cumulative)
        out: list[bool | None] = []
        given = 0
        for at, kind in zip(due, kinds, strict=True):
            first = bool(kind == SESSION and given + 0.5 <= at)
            given += first
            out.append(first if kind == SESSION else None)
        return out

    def _stages(self, times: np.ndarray, firsts: list[bool | None],
                rng: np.random.Generator | None) -> list[int | None]:
        """Each later sign-in's stage (``Arrival.stage``), as the model's sessions of enrolled
        teachers had them minute by minute (``Series.by_stage``): a course-1 session nearly always
        reaches its test, and the model's sign-ins at smoke's peak hour were 13.5% in course 1
        where the seeded studying teachers are 18.8% (the model's drop-outs never come back), so
        accounts drawn at large took 1.3x its tests."""
        return self._as_planned(self.series.by_stage, times, [f is False for f in firsts], rng)

    def _subs(self, times: np.ndarray, kinds: np.ndarray, rng: np.random.Generator | None) -> list[str]:
        """Each teacher session's sub-platform, as the model's sessions had them minute by minute
        (``Series.by_sub``): heartbeats come mostly from the few viewers on the 20-s sub-platforms
        (smoke: 20% of the viewers, 88% of the beats), so the model's own draw of who studies in
        its peak hour (their share fell from 0.22 to 0.12 over it) moved its heartbeats by up to
        30% while a replay drawing each session afresh with the scenario's shares stayed flat."""
        eligible = [kind in (SESSION, REGISTRATION) for kind in kinds]
        return [sub or "" for sub in self._as_planned(self.series.by_sub, times, eligible, rng)]

    def _as_planned(self, columns: dict, times: np.ndarray, eligible: list[bool],
                    rng: np.random.Generator | None) -> list:
        """A name of ``columns`` (the model's arrivals per minute by name) for each eligible
        arrival, None for the others and for all without the columns. Deterministic: the name
        furthest behind its planned cumulative count (every count within one of the plan's at all
        times); Poisson (``rng``): drawn with the shares of the arrival's minute."""
        cut = slice(self.start, self.stop)
        names = [name for name, v in columns.items() if v[cut].sum() > 0]
        out: list = [None] * len(times)
        if not names:
            return out
        per_minute = np.stack([columns[name][cut] for name in names]) * self.scale
        edges = np.arange(self.minutes + 1) * self.minute_s
        cum = np.concatenate([np.zeros((len(names), 1)), np.cumsum(per_minute, axis=1)], axis=1)
        given = np.zeros(len(names))
        for i, (t, ok) in enumerate(zip(times, eligible, strict=True)):
            if not ok:
                continue
            if rng is not None:
                minute = min(int(t / self.minute_s), self.minutes - 1)
                shares = per_minute[:, minute] / max(per_minute[:, minute].sum(), 1e-300)
                k = int(rng.choice(len(names), p=shares)) if shares.sum() > 0 else 0
            else:
                k = int(np.argmax([np.interp(t, edges, c) for c in cum] - given))
            given[k] += 1
            out[i] = names[k]
        return out

    def _kinds(self, times: np.ndarray, marks: np.ndarray,
               rng: np.random.Generator | None) -> np.ndarray:
        """Which journey each arrival starts, in proportion to the minute's mix: a session
        (which is a registration with the model's registration share), an administrator's
        progress view, or a certificate fetch."""
        minute = np.minimum((times / self.minute_s).astype(int), self.minutes - 1)
        pm = self.per_minute
        total = np.maximum(self.arrivals_per_minute(), 1e-300)
        shares = np.stack([pm[SESSION] - pm[REGISTRATION], pm[REGISTRATION],
                           pm[ADMIN], pm[CERTIFICATE]]) / total
        bounds = np.cumsum(shares[:, minute], axis=0)
        # deterministic: a low-discrepancy position inside each minute's mix (golden ratio
        # sequence), so the mix holds bin by bin; Poisson: independent uniforms
        u = rng.random(len(times)) if rng is not None else (marks * 0.6180339887498949) % 1.0
        choice = (u[None, :] >= bounds).sum(axis=0)
        return np.array([SESSION, REGISTRATION, ADMIN, CERTIFICATE])[np.minimum(choice, 3)]

    # --- the initial condition ----------------------------------------------------------

    def in_progress_at_start(self) -> float:
        """Sessions the model has running at the stretch's first minute, at test scale, not
        counting those that start in that minute (the schedule starts them)."""
        if self.series.in_progress is None:
            return 0.0
        running = self.series.in_progress[self.start] - self.series.sessions[self.start]
        return max(0.0, float(running)) * self.scale

    def resumed_count(self) -> int:
        return int(math.floor(self.in_progress_at_start() + 0.5))

    def set_up_s(self) -> float:
        """The window before the origin in which the resumed sessions set up (``timing.set_up_s``)."""
        return set_up_s(self.resumed_count())

    def resumed(self, length_minutes, rng: np.random.Generator) -> list[Arrival]:
        """The sessions in progress at the start, spread over the set-up window before the
        origin (``set_up_s``: they sign in and load their page there, then resume at
        the origin), each with the time it has left drawn as the model has it: a session running at a given
        instant is length-biased (a long one is more likely to be running), and the instant
        falls uniformly inside it, so its remaining time is U·L with L drawn with probability
        proportional to its length (renewal theory's equilibrium residual life).
        ``length_minutes`` is the scenario's session-length distribution."""
        count = self.resumed_count()
        if count == 0:
            return []
        pool = np.asarray(length_minutes.sample(rng, 20 * count + 100), float)
        pool = pool[pool > 0]
        chosen = rng.choice(pool, size=count, p=pool / pool.sum())
        remaining = rng.uniform(0.0, 1.0, count) * chosen
        at = ((np.arange(count) + 0.5) / count - 1.0) * self.set_up_s()
        # indices above the schedule's own: each session seeds its own random stream with it
        first = RESUMED_INDEX_BASE
        subs = self.resumed_subs(count)
        return [Arrival(float(t), SESSION, first + i, float(r), sub_platform=sub)
                for i, (t, r, sub) in enumerate(zip(at, remaining, subs, strict=True))]

    def resumed_subs(self, count: int) -> list[str]:
        """The resumed sessions' sub-platforms in the shares of the model's viewers at the first
        minute (``Series.viewers_by_sub``; its sessions in progress, as far as the heartbeats are
        concerned), each within one of its share; "" for all without the columns."""
        viewers = {sub: float(v[self.start]) for sub, v in self.series.viewers_by_sub.items()
                   if v[self.start] > 0}
        if not viewers:
            return [""] * count
        names, shares = list(viewers), np.array(list(viewers.values())) / sum(viewers.values())
        given, out = np.zeros(len(names)), []
        for i in range(count):
            k = int(np.argmax(shares * (i + 1) - given))
            given[k] += 1
            out.append(names[k])
        return out

    # --- checking a run -----------------------------------------------------------------

    def bins(self, bin_s: float) -> np.ndarray:
        """Bin edges in test time: ``bin_s`` seconds each, the last one possibly shorter."""
        if not bin_s > 0:
            raise PlanError(f"--bin-seconds: must be positive (got {bin_s})")
        n = max(1, int(math.ceil(self.duration_s / bin_s - 1e-9)))
        edges = np.arange(n + 1) * bin_s
        edges[-1] = self.duration_s
        return edges

    def planned_per_bin(self, edges: np.ndarray) -> np.ndarray:
        return np.diff(self.cumulative(edges))


def _by_sub(header: dict[str, str], prefix: str, column) -> dict[str, np.ndarray]:
    """The columns ``<prefix><sub>`` of the header, by sub-platform."""
    return {name[len(prefix):]: column(name) for name in header
            if name.startswith(prefix) and "." not in name[len(prefix):]}


def resumed_draw(draw, length_minutes, remaining: float):
    """A resumed session's ``draw``: its first session length is the time it has left, every
    other draw is the user's own."""
    pending = [remaining]

    def resumed(distribution) -> float:
        if distribution is length_minutes and pending:
            return pending.pop()
        return draw(distribution)

    return resumed


def achieved_per_bin(times: list[float] | np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Arrivals that really started in each bin (late ones count where they happened)."""
    counts, _ = np.histogram(np.asarray(times, dtype=float), bins=edges)
    return counts


def bin_errors(planned: np.ndarray, achieved: np.ndarray) -> np.ndarray:
    """Relative error per bin, ``|achieved - planned| / planned``; bins planning fewer than
    ten arrivals are measured against ten, so that being one arrival off at a bin edge (all a
    deterministic schedule can be) stays within 10%."""
    return np.abs(np.asarray(achieved, float) - planned) / np.maximum(planned, 1.0 / TOLERANCE)


def _inverse(marks: np.ndarray, edges: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Times at which the cumulative plan reaches each mark (C^-1). A flat run (minutes with
    no arrivals) keeps only its two ends, so a mark just below the run maps before it and a
    mark just above maps after it (np.interp picks the interval with xp[j] <= x < xp[j+1])."""
    flat = np.zeros(len(cum), dtype=bool)
    flat[1:-1] = (cum[1:-1] == cum[:-2]) & (cum[1:-1] == cum[2:])
    return np.interp(marks, cum[~flat], edges[~flat])
