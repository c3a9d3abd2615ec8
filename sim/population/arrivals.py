"""Activity intensity over the campaign: when teachers are likely to study.

The intensity is a per-minute multiplier built from the scenario's behaviour section:
hour-of-day and day-of-week profiles, the school winter break, public holidays (make-up
workdays count as workdays), a boost after each course opening that decays exponentially,
and the deadline rush. It is normalised to mean 1 over the study window, so one
*operational hour* (the integral of the intensity) is one real hour on average.

Teachers' session gaps and start delays are drawn in operational time and mapped back to
real time through the cumulative intensity (time rescaling of a non-homogeneous process):
a gap of 40 operational hours lands on busy evenings and stretches over quiet nights.
Province mobilisation waves are handled per teacher (sim.population.teachers) on top of this.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from domain.campaign import Campaign
from domain.scenario import Scenario

MINUTE = 60.0
DAY = 86400.0


@dataclass(frozen=True)
class Marker:
    """A dated event worth drawing on charts (opening, holiday, deadline)."""

    offset_s: float
    label: str
    kind: str  # "opening" | "holiday" | "deadline" | "wave" | "certificates"
    until_s: float | None = None


class Profile:
    """Per-minute intensity and the operational clock over ``horizon_s`` seconds."""

    def __init__(self, scenario: Scenario, campaign: Campaign, horizon_s: float) -> None:
        self.scenario = scenario
        self.campaign = campaign
        self.minutes = int(math.ceil(horizon_s / MINUTE))
        self.window_minutes = int(math.ceil(campaign.offset(campaign.end_at) / MINUTE))
        self.intensity = self._build()
        # cumulative operational hours at each minute edge (length minutes + 1)
        self.cum_hours = np.concatenate(([0.0], np.cumsum(self.intensity) / 60.0))
        self._edges_s = np.arange(self.minutes + 1, dtype=np.float64) * MINUTE
        self._cum = self.cum_hours.tolist()  # for the scalar versions used per session
        self.closures = self._closures()  # (start, end) offsets in seconds, in order

    def _closures(self) -> list[tuple[float, float]]:
        """Maintenance closures as offsets: calendar closures shut access from local midnight
        of the first day to local midnight after the last; ``failures.maintenance`` windows
        from their start to their end. Overlapping ones are merged (the lookups below need
        disjoint spans in order)."""
        cal, campaign = self.scenario.calendar, self.campaign
        spans = sorted([(day_offset(campaign, c.start), day_offset(campaign, c.end + dt.timedelta(days=1)))
                        for c in cal.closures]
                       + [(campaign.offset(cal.localize(m.start)), campaign.offset(cal.localize(m.end)))
                          for m in self.scenario.failures.maintenance])
        merged: list[tuple[float, float]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def open_until(self, t_s: float) -> float:
        """When the platform next shuts after ``t_s`` (the next closure, else the window's
        end); ``t_s`` itself when it falls in a closure."""
        for lo, hi in self.closures:
            if t_s < lo:
                return lo
            if t_s < hi:
                return t_s
        return self.window_s

    def reopens_at(self, t_s: float) -> float:
        """The end of the closure ``t_s`` falls in (``t_s`` when none)."""
        for lo, hi in self.closures:
            if lo <= t_s < hi:
                return hi
        return t_s

    def shut_minutes(self) -> list[bool]:
        """Per minute of the horizon: inside a closure (no request reaches the platform)."""
        shut = [False] * self.minutes
        for lo, hi in self.closures:
            for m in range(int(lo // MINUTE), min(int(math.ceil(hi / MINUTE)), self.minutes)):
                shut[m] = True
        return shut

    # --- construction ------------------------------------------------------------------

    def _build(self) -> np.ndarray:
        beh = self.scenario.behaviour
        local = self._local_minute_starts()
        hours = np.array([t.hour for t in local], dtype=np.int64)
        days = np.array([t.date().toordinal() for t in local], dtype=np.int64)
        hourly = np.asarray(beh.daily_profile, dtype=np.float64)
        hourly = hourly / hourly.mean()
        day_factor = self._day_factors(days)
        offsets = np.arange(self.minutes, dtype=np.float64) * MINUTE
        intensity = hourly[hours] * day_factor * self._opening_boost(offsets)
        window = intensity[: self.window_minutes]
        return intensity / window.mean()

    def _local_minute_starts(self) -> list[dt.datetime]:
        # Hourly resolution is enough for the profiles; expand to minutes afterwards.
        start = self.campaign.start_at
        hours = int(math.ceil(self.minutes / 60)) + 1
        stamps = [(start + dt.timedelta(hours=h)).astimezone(self.campaign.zone) for h in range(hours)]
        return [stamps[m // 60] for m in range(self.minutes)]

    def _day_factors(self, ordinals: np.ndarray) -> np.ndarray:
        beh, cal = self.scenario.behaviour, self.scenario.calendar
        weekly = np.asarray(beh.weekly_profile, dtype=np.float64)
        weekly = weekly / weekly.mean()
        workday_mean = weekly[:5].mean()
        rush_from = (self.campaign.end_at - dt.timedelta(days=beh.deadline_rush.days)).date()
        table = {}
        for ordinal in np.unique(ordinals):
            day = dt.date.fromordinal(int(ordinal))
            factor = workday_mean if day in cal.makeup_workdays else weekly[day.weekday()]
            if cal.winter_break.contains(day):
                factor *= beh.winter_break_factor
            if cal.is_holiday(day):
                factor *= beh.holiday_factor
            if rush_from <= day < self.campaign.end_at.date():
                factor *= beh.deadline_rush.factor
            if cal.is_closed(day):
                factor = 0.0  # access shut: nobody can start anything
            table[int(ordinal)] = factor
        return np.array([table[int(o)] for o in ordinals], dtype=np.float64)

    def _opening_boost(self, offsets: np.ndarray) -> np.ndarray:
        beh = self.scenario.behaviour
        boost = np.ones_like(offsets)
        opens = sorted({self.campaign.offset(r.opens_at) for r in self.campaign.courses.values()})
        decay_s = beh.opening_decay_days * DAY
        for at in opens:
            after = offsets >= at
            boost[after] += (beh.opening_boost - 1.0) * np.exp(-(offsets[after] - at) / decay_s)
        return boost

    # --- the operational clock ---------------------------------------------------------

    @property
    def window_s(self) -> float:
        return self.campaign.offset(self.campaign.end_at)

    def op_hours(self, t_s: np.ndarray | float) -> np.ndarray | float:
        """Operational hours elapsed at real offset ``t_s`` seconds."""
        return np.interp(t_s, self._edges_s, self.cum_hours)

    def real_s(self, u_hours: np.ndarray | float) -> np.ndarray | float:
        """Real offset (seconds) at which ``u_hours`` operational hours have elapsed;
        beyond the horizon it returns +inf."""
        out = np.interp(u_hours, self.cum_hours, self._edges_s, right=np.inf)
        return out

    def op_hour(self, t_s: float) -> float:
        """Scalar ``op_hours`` (the per-session hot path; numpy scalar calls are slow)."""
        m = t_s / MINUTE
        i = int(m)
        cum = self._cum
        if i >= self.minutes:
            return cum[-1]
        return cum[i] + (cum[i + 1] - cum[i]) * (m - i)

    def real_at(self, u_hours: float) -> float:
        """Scalar ``real_s``."""
        cum = self._cum
        if u_hours >= cum[-1]:
            return math.inf
        i = bisect.bisect_right(cum, u_hours) - 1
        step = cum[i + 1] - cum[i]
        return (i + ((u_hours - cum[i]) / step if step > 0 else 0.0)) * MINUTE

    def markers(self) -> list[Marker]:
        cal, camp = self.scenario.calendar, self.campaign
        marks = []
        for cid, rule in camp.courses.items():
            marks.append(Marker(camp.offset(rule.opens_at), f"course {cid} opens", "opening"))
        for holiday in cal.holidays:
            marks.append(self._day_span(holiday.start, holiday.end, holiday.name, "holiday"))
        brk = cal.winter_break
        marks.append(self._day_span(brk.start, brk.end, brk.name or "winter break", "holiday"))
        rush = camp.end_at - dt.timedelta(days=self.scenario.behaviour.deadline_rush.days)
        marks.append(Marker(camp.offset(rush), "deadline rush", "deadline", camp.offset(camp.end_at)))
        marks.append(Marker(camp.offset(camp.end_at), "window closes", "deadline"))
        for closure in cal.closures:
            marks.append(self._day_span(closure.start, closure.end, closure.name or "closed", "holiday"))
        return marks

    def _day_span(self, start: dt.date, end: dt.date, label: str, kind: str) -> Marker:
        lo = self.campaign.offset(dt.datetime.combine(start, dt.time()))
        hi = self.campaign.offset(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
        return Marker(lo, label, kind, hi)


def day_offset(campaign: Campaign, day: dt.date) -> float:
    """Offset in seconds of local midnight starting ``day``."""
    return campaign.offset(dt.datetime.combine(day, dt.time()))
