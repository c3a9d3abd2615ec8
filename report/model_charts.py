"""Charts of a model run: each function takes the loaded results and labels and returns a
matplotlib Figure (or None when the folder lacks what it needs)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from report.data import ModelResults
from report.i18n import Labels

WIDE = (11, 4.2)
# counts written out (800,000), not matplotlib's '1e7' offset above the axis
THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}")


def hourly(times: np.ndarray, values: np.ndarray, how: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Per-hour max or mean of a per-minute series (keeps a 90-day chart readable)."""
    hours = times.astype("datetime64[h]")
    keys, index = np.unique(hours, return_inverse=True)
    out = np.full(len(keys), -np.inf if how == "max" else 0.0)
    if how == "max":
        np.maximum.at(out, index, np.nan_to_num(values, nan=-np.inf))
    else:
        np.add.at(out, index, np.nan_to_num(values))
        out /= np.bincount(index)
    return keys, out


def _local(moment: dt.datetime | dt.date) -> np.datetime64:
    if isinstance(moment, dt.datetime):
        return np.datetime64(moment.replace(tzinfo=None), "m")
    return np.datetime64(moment, "D").astype("datetime64[m]")


def _mark_calendar(ax, data: ModelResults, t: Labels) -> None:
    """Shade holidays, the winter break and waves; line the course openings and the deadline."""
    s = data.scenario
    if s is None:
        return
    day = np.timedelta64(1, "D")
    brk = s.calendar.winter_break
    ax.axvspan(_local(brk.start), _local(brk.end) + day, color="#d6e9f8", alpha=0.6, lw=0,
               label=t("winter_break"))
    for i, holiday in enumerate(s.calendar.holidays):
        ax.axvspan(_local(holiday.start), _local(holiday.end) + day, color="#bbbbbb", alpha=0.5, lw=0,
                   label=t("holiday") if i == 0 else None)
    for i, wave in enumerate(s.behaviour.waves):
        start = _local(wave.start)
        ax.axvspan(start, start + np.timedelta64(int(wave.days * 1440), "m"), color="#f6c46b", alpha=0.35,
                   lw=0, label=t("wave") if i == 0 else None)
    opening: dict[dt.date, list[str]] = {}
    for course in s.courses:
        opening.setdefault(course.opens, []).append(str(course.id))
    for opens, ids in opening.items():  # one label per day, however many courses open on it
        x = _local(opens)
        label = t("course_opens", id=ids[0]) if len(ids) == 1 else t("courses_open", ids=", ".join(ids))
        ax.axvline(x, color="#2a7d2a", ls="--", lw=1)
        ax.annotate(label, (x, 0.03), xycoords=("data", "axes fraction"),
                    rotation=90, va="bottom", ha="right", fontsize=7, color="#2a7d2a")
    ax.axvline(_local(s.calendar.end_at), color="#c0392b", lw=1.6, label=t("deadline"))


def requests_window(data: ModelResults, t: Labels) -> Figure | None:
    if "rps.total" not in data.series:
        return None
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    hours, peak = hourly(data.times, data.series["rps.total"], "max")
    _, mean = hourly(data.times, data.series["rps.total"], "mean")
    ax.fill_between(hours.astype("datetime64[m]"), mean, peak, color="#1f77b4", alpha=0.25, lw=0)
    ax.plot(hours.astype("datetime64[m]"), peak, color="#1f77b4", lw=0.8, label=t("hourly_peak"))
    ax.plot(hours.astype("datetime64[m]"), mean, color="#e67e22", lw=0.6, label=t("hourly_mean"))
    _mark_calendar(ax, data, t)
    ax.set(title=t("rps_window"), ylabel=t("requests_per_s"))
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=8, ncols=3)
    fig.autofmt_xdate()
    return fig


def heatmap(data: ModelResults, t: Labels) -> Figure | None:
    if "rps.total" not in data.series or len(data.times) == 0:
        return None
    days = data.times.astype("datetime64[D]")
    first = days[0]
    row = (days - first).astype(int)
    col = (data.times - days.astype("datetime64[m]")).astype(int) // 60
    grid = np.zeros((row.max() + 1, 24))
    count = np.zeros_like(grid)
    np.add.at(grid, (row, col), np.nan_to_num(data.series["rps.total"]))
    np.add.at(count, (row, col), 1)
    grid = np.divide(grid, count, out=np.full_like(grid, np.nan), where=count > 0)
    fig = Figure(figsize=(11, min(9.0, max(3.5, 0.12 * len(grid) + 1.5))), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    step = max(1, len(grid) // 15)
    ticks = np.arange(0, len(grid), step)
    ax.set_yticks(ticks, [str(first + int(i)) for i in ticks], fontsize=7)
    ax.set_xticks(range(0, 24, 2))
    ax.set(title=t("heatmap"), xlabel=t("hour"), ylabel=t("day"))
    fig.colorbar(image, ax=ax, label=t("requests_per_s"))
    return fig


def concurrency(data: ModelResults, t: Labels) -> Figure | None:
    if "sessions" not in data.series or "egress_gbps" not in data.series:
        return None
    fig = Figure(figsize=(11, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for key, label in (("sessions", "sessions"), ("viewers", "viewers")):
        if key in data.series:
            hours, peak = hourly(data.times, data.series[key])
            top.plot(hours.astype("datetime64[m]"), peak, lw=0.8, label=t(label))
    top.set(title=t("concurrency"), ylabel=t("people"))
    top.yaxis.set_major_formatter(THOUSANDS)
    top.legend(fontsize=8)
    hours, peak = hourly(data.times, data.series["egress_gbps"])
    bottom.plot(hours.astype("datetime64[m]"), peak, color="#8e44ad", lw=0.8)
    if data.scenario is not None:
        for tier in data.scenario.platform.tiers:
            if tier.kind == "bandwidth":
                bottom.axhline(tier.capacity_gbps, color="#c0392b", ls="--", lw=1,
                               label=t("capacity_line", name=tier.name))
        bottom.legend(fontsize=8)
    bottom.set(title=t("bandwidth"), ylabel="Gbps")
    bottom.set_ylim(bottom=0)
    fig.autofmt_xdate()
    return fig


def _tiers(data: ModelResults, measure: str) -> list[str]:
    return [k.split(".")[1] for k in data.series if k.startswith("tier.") and k.endswith(f".{measure}")]


def utilisation(data: ModelResults, t: Labels) -> Figure | None:
    tiers = _tiers(data, "utilisation")
    if not tiers:
        return None
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    for tier in tiers:
        hours, peak = hourly(data.times, data.series[f"tier.{tier}.utilisation"])
        line = ax.plot(hours.astype("datetime64[m]"), peak, lw=0.8, label=tier)[0]
        slo = data.scenario.service_levels.tiers.get(tier) if data.scenario else None
        if slo is not None:
            ax.axhline(slo.max_utilisation, color=line.get_color(), ls=":", lw=1)
    ax.set(title=t("utilisation"), ylabel=t("utilisation_axis"))
    ax.set_ylim(0, max(1.05, ax.get_ylim()[1]))
    ax.legend(fontsize=8, ncols=len(tiers))
    fig.autofmt_xdate()
    return fig


def latency(data: ModelResults, t: Labels) -> Figure | None:
    tiers_in = data.scenario.platform.tiers if data.scenario else []
    bandwidth = {x.name for x in tiers_in if x.kind == "bandwidth"}
    tiers = [x for x in _tiers(data, "p95_ms") if f"tier.{x}.p50_ms" in data.series and x not in bandwidth]
    tiers = [tier for tier in tiers if np.nanmax(data.series[f"tier.{tier}.p95_ms"]) > 0]
    if not tiers:
        return None
    fig = Figure(figsize=(11, 2.6 * len(tiers) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(tiers), 1, sharex=True))
    for ax, tier in zip(axes, tiers, strict=True):
        for p, color in (("p50", "#2ca02c"), ("p95", "#ff7f0e"), ("p99", "#d62728")):
            key = f"tier.{tier}.{p}_ms"
            if key in data.series:
                hours, peak = hourly(data.times, data.series[key])
                # a minute without requests has no latency: a gap, not a drop to zero
                ax.plot(hours.astype("datetime64[m]"), np.where(peak > 0, peak, np.nan), lw=0.8, color=color,
                        label=p)
        slo = data.scenario.service_levels.tiers.get(tier) if data.scenario else None
        if slo is not None and slo.p95_ms:
            ax.axhline(slo.p95_ms, color="#ff7f0e", ls=":", lw=1, label=f"p95 SLO {slo.p95_ms:g} ms")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(t("latency_ms"))
        ax.set_title(tier, fontsize=9, loc="left")
        ax.legend(fontsize=7, ncols=4, loc="upper right")
    axes[0].set_title(t("latency"))
    fig.autofmt_xdate()
    return fig


def _last(daily: dict, key: str) -> float | None:
    values = daily.get(key)
    if values is None or len(values) == 0:
        return None
    return float(np.nanmax(values))


def funnel(data: ModelResults, t: Labels) -> Figure | None:
    participants = data.summary.outcomes.get("participants")
    if participants is None and data.scenario is not None:
        participants = data.scenario.population.participants
    steps = [(t("participants"), participants), (t("registered"), _last(data.daily, "registered"))]
    courses = sorted((k.split(".", 1)[1] for k in data.daily if k.startswith("completed.")),
                     key=lambda c: (len(c), c))
    steps += [(t("completed_course", id=c), _last(data.daily, f"completed.{c}")) for c in courses]
    steps += [(t("completed_all"), _last(data.daily, "completed_all")),
              (t("certified_short"), _last(data.daily, "certified"))]
    steps = [(label, value) for label, value in steps if value is not None]
    if len(steps) < 2:
        return None
    fig = Figure(figsize=(9, 0.5 * len(steps) + 1.4), layout="constrained")
    ax = fig.subplots()
    labels, values = zip(*steps, strict=True)
    bars = ax.barh(labels, values, color="#3b7dd8")
    top = max(values)
    ax.bar_label(bars, [f"{v:,.0f} ({v / top:.0%})" for v in values], fontsize=8, padding=3)
    ax.invert_yaxis()
    ax.set(title=t("funnel"), xlabel=t("teachers"))
    ax.set_xlim(0, top * 1.25)
    return fig


def certified_by_day(data: ModelResults, t: Labels) -> Figure | None:
    if "certified" not in data.daily or len(data.days) == 0:
        return None
    fig = Figure(figsize=WIDE, layout="constrained")
    ax = fig.subplots()
    for key, label in (("registered", "registered"), ("completed_all", "completed_all"),
                       ("certified", "certified_short")):
        if key in data.daily:
            ax.plot(data.days, data.daily[key], marker=".", lw=1.2, label=t(label))
    if data.scenario is not None:
        ax.axvline(np.datetime64(data.scenario.calendar.end_at.replace(tzinfo=None), "m"),  # type: ignore[arg-type]  # matplotlib's stubs say float; dates are plotted as dates
                   color="#c0392b", lw=1.6, label=t("deadline"))
    ax.set(title=t("certified_by_day"), ylabel=t("teachers"))
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


def attempts(data: ModelResults, t: Labels) -> Figure | None:
    if not data.attempts:
        return None
    courses = sorted({row["course"] for row in data.attempts}, key=str)
    most = max(row["attempts"] for row in data.attempts)
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(courses)
    for i, course in enumerate(courses):
        counts = np.zeros(most)
        for row in data.attempts:
            if row["course"] == course:
                counts[row["attempts"] - 1] += row["teachers"]
        ax.bar(np.arange(1, most + 1) + (i - (len(courses) - 1) / 2) * width, counts, width,
               label=t("course", id=course))
    ax.set_xticks(range(1, most + 1))
    ax.set(title=t("attempts"), xlabel=t("attempts_axis"), ylabel=t("teachers"))
    ax.legend(fontsize=8)
    return fig


CHARTS = {
    "requests_window": requests_window,
    "heatmap": heatmap,
    "concurrency": concurrency,
    "utilisation": utilisation,
    "latency": latency,
    "funnel": funnel,
    "certified_by_day": certified_by_day,
    "attempts": attempts,
}
