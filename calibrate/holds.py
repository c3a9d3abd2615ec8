"""What a hold replays: the validation's busiest minutes, at the validation's compression.

Until 2026-11-30 22:40 a hold replayed the minutes before and of the staircase's steps (16:41 to
20:48 of the campaign day) at the staircase's compress 144 and judged its last 40 s, while a
validation level (bench/bench_calibrate.py) replays the peak hour at compress 36 and puts its
busiest 40 s at L x the knee's rate. At the same request rate, compress 36 keeps 4x the sessions
in flight (Locust users, connections, tokens, resumed sign-ins) that 144 does: on 2026-11-30
SQLite's "85%" level broke the 300-ms SLO (p95 360 ms and 1,100 ms in two runs) at 415 req/s
while the knee's hold had met it at 501 req/s. So the knee was not the knee of the load the
validations replay.

Now a hold replays, at the validation's compression and with the sessions the model has in
progress at its first minute started first (``--resume-sessions``, as the levels run), the
validation's busiest window of the judged length (``calibrate.levels.busiest`` on whole minutes:
a stretch is given in minutes) with the minutes before it: its judged windows are that window's
minutes, the ones a level puts at L x the knee. On the smoke model the peak hour's busiest 40 s
at compress 36 are its first 24 minutes (20:00-20:24), so a hold's settling minutes lie before
the peak hour. A scale of the staircase (compress 144, its own minutes) becomes a hold's by the
planned rate per unit of scale in each one's judged part (``equivalent_scale``).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate.levels import busiest, last, stretch_rates
from calibrate.steps import WINDOW_S
from loadtests.plan import Plan, Series
from loadtests.requests import model_rates
from loadtests.stretch import select

# bench/bench_calibrate.py --test-compress's default: the compression the validation levels replay at
VALIDATION_COMPRESS = 36.0


@dataclass(frozen=True)
class HoldLoad:
    """The minutes a hold replays and how: ``series`` indexes ``start`` (the first replayed) to
    ``stop`` (one past the last), the judged ones from ``first_judged``."""

    series: Series
    start: int
    first_judged: int
    stop: int
    compress: float
    rps_per_scale: float  # planned requests/s of test time per unit of scale in the judged minutes

    @property
    def minute_s(self) -> float:
        return 60.0 / self.compress

    @property
    def seconds(self) -> float:
        return (self.stop - self.start) * self.minute_s

    @property
    def judged_s(self) -> float:
        return (self.stop - self.first_judged) * self.minute_s

    @property
    def stretch(self) -> str:
        return minutes_spec(self.series, self.start, self.stop)

    @property
    def judged(self) -> str:
        return minutes_spec(self.series, self.first_judged, self.stop)

    def plan(self, scale: float) -> Plan:
        """The replay's plan at ``scale`` (its resumed sessions, its set-up window)."""
        return Plan(self.series, self.start, self.stop, self.compress, scale)


def minutes_spec(series: Series, start: int, stop: int) -> str:
    """A ``--stretch`` naming the minutes ``start`` to ``stop`` (end excluded)."""
    end = series.minutes[stop - 1] + dt.timedelta(minutes=1)
    return f"{series.minutes[start]:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}"


def busiest_minutes(series: Series, timeseries: Path, spec: str, endpoints: list[str], compress: float,
                    judged_s: float) -> tuple[int, int]:
    """The whole minutes of the stretch ``spec`` whose ``judged_s`` of replay at ``compress`` plan
    the most requests of all endpoints (as ``calibrate.levels.busiest`` finds a level's window,
    on minute boundaries): (first, one past the last) as series indexes."""
    stretch = select(series, spec)
    minute_s = 60.0 / compress
    unit = model_rates(timeseries, series.minutes[stretch.start].isoformat(), stretch.stop - stretch.start,
                       endpoints, 1.0, compress)
    window = busiest(unit, endpoints, minute_s, judged_s, step_s=minute_s)
    first = stretch.start + int(round(window.start_s / minute_s))
    return first, min(stretch.stop, first + int(math.ceil(judged_s / minute_s - 1e-9)))


def hold_load(series: Series, timeseries: Path, spec: str, endpoints: list[str], compress: float,
              seconds: float, judged_s: float) -> HoldLoad:
    """The hold of about ``seconds`` of replay (whole minutes, at least the judged ones; fewer when
    the time series starts sooner) ending with the busiest ``judged_s`` of ``spec``."""
    first, stop = busiest_minutes(series, timeseries, spec, endpoints, compress, judged_s)
    minute_s = 60.0 / compress
    start = max(0, min(first, stop - int(math.ceil(seconds / minute_s - 1e-9))))
    unit = model_rates(timeseries, series.minutes[first].isoformat(), stop - first, endpoints, 1.0, compress)
    return HoldLoad(series, start, first, stop, compress, float(unit.sum(axis=0).mean()))


def staircase_rps_per_scale(series: Series, timeseries: Path, spec: str, endpoints: list[str],
                            compress: float, step_seconds: float) -> float:
    """Planned requests/s per unit of scale in a staircase step's judged part (its last 10-s
    window: ``calibrate.knee.judge``)."""
    unit = stretch_rates(series, timeseries, spec, endpoints, 1.0, compress, step_seconds)
    return last(unit, endpoints, 60.0 / compress, float(WINDOW_S)).rate_rps


def equivalent_scale(scale: float, from_rps_per_scale: float, to_rps_per_scale: float) -> float:
    """The scale at which a replay planning ``to_rps_per_scale`` runs the rate that ``scale``
    ran where the plan was ``from_rps_per_scale`` (rates are proportional to the scale)."""
    return scale * from_rps_per_scale / to_rps_per_scale if to_rps_per_scale > 0 else scale


def resumed_by_sub(plan: Plan) -> dict[str, int]:
    """Sessions a replay resumes at its first minute, by sub-platform (``Plan.resumed_subs``;
    "" for a model run without the columns)."""
    return dict(Counter(plan.resumed_subs(plan.resumed_count())))


def drop_in_session(path: Path, used: dict[str, int]) -> dict[str, int]:
    """Rewrite the accounts file ``path`` without the first ``used[sub]`` accounts seeded in a
    session of each sub-platform (``""``: of any): a roster hands a resumed session the next
    of its sub-platform from the file's start (``Roster.resumed``), so a later hold would take
    the sessions an earlier one finished. Returns how many are left of each."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or []), list(reader)
    skip = dict(used)
    kept: list[dict[str, Any]] = []
    left: dict[str, int] = {}
    for row in rows:
        sub = row.get("sub_platform") or ""
        if (row.get("resume") or "").strip():
            key = sub if skip.get(sub, 0) > 0 else ""
            if skip.get(key, 0) > 0:
                skip[key] -= 1
                continue
            left[sub] = left.get(sub, 0) + 1
        kept.append(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return left
