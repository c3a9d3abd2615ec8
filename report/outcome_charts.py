"""Charts of who studied: teachers active and credit hours earned per day, and the completion
funnel from the whole workforce (outcomes_daily.csv, summary.json outcomes)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from report.data import ModelResults
from report.i18n import Labels
from report.model_charts import _last
from report.numbers import figure


def activity(data: ModelResults, t: Labels) -> Figure | None:
    active = data.daily.get("active")
    hours_keys = [k for k in data.daily if k.startswith("credit_hours.")]
    if active is None or len(data.days) == 0:
        return None
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.bar(data.days, active, color="#3b7dd8", width=0.8, label=t("active_teachers"))
    ax.set(title=t("activity"), ylabel=t("active_teachers"))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
    handles, labels = ax.get_legend_handles_labels()
    if hours_keys:
        # credit hours are cumulative in the file: a day's hours are the day's increase
        cumulative = np.nansum([data.daily[k] for k in hours_keys], axis=0)
        per_day = np.diff(cumulative, prepend=0.0)
        right = ax.twinx()
        right.plot(data.days, per_day, color="#c0392b", lw=1.4, marker=".", label=t("study_hours"))
        right.set_ylabel(t("hours_axis"))
        right.set_ylim(bottom=0)
        right.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if data.scenario is not None:
        deadline = np.datetime64(data.scenario.calendar.end_at.replace(tzinfo=None), "m")
        handles.append(ax.axvline(deadline, color="#2c3e50", lw=1.4))  # type: ignore[arg-type]
        labels.append(t("deadline"))
    ax.legend(handles, labels, fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    return fig


def funnel(data: ModelResults, t: Labels) -> Figure | None:
    """From every teacher in the workforce to those certified; bars labelled with their share
    of the workforce and of the step before."""
    s = data.summary
    steps = [(t("workforce"), float(s.teachers)), (t("participants"), float(s.participants)),
             (t("registered"), _last(data.daily, "registered"))]
    courses = sorted((k.split(".", 1)[1] for k in data.daily if k.startswith("completed.")),
                     key=lambda c: (len(c), c))
    steps += [(t("completed_course", id=c), _last(data.daily, f"completed.{c}")) for c in courses]
    steps += [(t("completed_all"), s.outcomes.get("completed_all", _last(data.daily, "completed_all"))),
              (t("certified_short"), s.outcomes.get("certified", _last(data.daily, "certified")))]
    steps = [(label, float(value)) for label, value in steps if value is not None]
    if len(steps) < 2:
        return None
    fig = Figure(figsize=(10, 0.5 * len(steps) + 1.4), layout="constrained")
    ax = fig.subplots()
    labels, values = zip(*steps, strict=True)
    bars = ax.barh(labels, values, color=["#9aa7b4"] + ["#3b7dd8"] * (len(values) - 1))
    top = values[0] or max(values)
    ax.bar_label(bars, [f"{v:,.0f} ({v / top:.0%})" for v in values], fontsize=8, padding=3)
    ax.invert_yaxis()
    ax.set(title=t("funnel"), xlabel=t("teachers"))
    ax.set_xlim(0, max(values) * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
    return fig
