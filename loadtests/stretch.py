"""Which stretch of the model's time series a load test replays.

Forms of ``--stretch``:

- ``peak-day``: the calendar day with the most session arrivals;
- ``peak-hour``: the clock hour with the most session arrivals;
- ``window`` (or ``all``): the whole time series;
- ``2023-01-05``: one day; ``2023-01-05..2023-01-07``: days, both ends included;
- ``2023-01-05T19:00..2023-01-05T22:00``: instants, end excluded.

Times are the campaign's local time, as in the time series' ``minute`` column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from domain.zones import localise
from loadtests.plan import PlanError, Series

NAMED = ("peak-day", "peak-hour", "window", "all")


@dataclass(frozen=True)
class Stretch:
    start: int  # first minute (index into the series)
    stop: int  # one past the last minute
    label: str


def select(series: Series, spec: str) -> Stretch:
    """The minutes ``spec`` names, or PlanError saying why it names none."""
    spec = spec.strip()
    if spec in ("window", "all"):
        return Stretch(0, len(series), spec)
    if spec == "peak-day":
        return _peak(series, [m.date() for m in series.minutes], "peak-day")
    if spec == "peak-hour":
        return _peak(series, [m.replace(minute=0, second=0) for m in series.minutes], "peak-hour")
    lo, sep, hi = spec.partition("..")
    first, last = _moment(lo, spec), _moment(hi if sep else lo, spec)
    start, stop = _index(series, first, inclusive=False), _index(series, last, inclusive=True)
    if stop <= start:
        raise PlanError(f"--stretch: {spec!r} covers no minute of the time series "
                        f"({series.minutes[0]:%Y-%m-%d %H:%M} to {series.minutes[-1]:%Y-%m-%d %H:%M})")
    return Stretch(start, stop, spec)


def _peak(series: Series, keys: list, label: str) -> Stretch:
    """The run of equal keys (a day, an hour) with the most session arrivals."""
    change = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]] + [len(keys)]
    sums = [series.sessions[a:b].sum() for a, b in zip(change[:-1], change[1:], strict=True)]
    best = int(np.argmax(sums))
    start, stop = change[best], change[best + 1]
    return Stretch(start, stop, f"{label} {series.minutes[start]:%Y-%m-%d %H:%M}")


def _moment(text: str, spec: str) -> dt.datetime | dt.date:
    text = text.strip()
    try:
        if "T" in text or " " in text:
            return dt.datetime.fromisoformat(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PlanError(
            f"--stretch: {spec!r} is not one of {', '.join(NAMED)}, a date (2023-01-05), "
            "or a range (2023-01-05..2023-01-07, 2023-01-05T19:00..2023-01-05T22:00)"
        ) from None


def _index(series: Series, moment: dt.datetime | dt.date, inclusive: bool) -> int:
    """First minute at or after ``moment``; for an inclusive date, after that whole day."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment + dt.timedelta(days=1) if inclusive else moment, dt.time())
    zone = series.minutes[0].tzinfo
    moment = localise(moment, zone)
    if moment.tzinfo is not None and zone is None:
        moment = moment.replace(tzinfo=None)
    return int(np.searchsorted(np.array([m.timestamp() for m in series.minutes]), moment.timestamp()))
