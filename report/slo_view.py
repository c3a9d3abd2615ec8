"""Service levels as the run judged them, in a table and in charts that agree with it.

The table shows each tier's worst judged minute and the judging rule; the latency chart draws
the hourly worst of judged minutes in colour and of unjudged minutes in grey, with a line for
every latency target that is judged (p50/p95/p99 as the scenario states them), and the
utilisation chart the cap each tier is judged against. A panel whose values are all about zero
says so instead of drawing a flat line.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from report.data import ModelResults
from report.headline import Table
from report.i18n import Labels
from report.model_charts import hourly
from report.numbers import figure, share

JUDGED_RPS_DEFAULT = 1.0  # sim.tiers.sizing.JUDGED_RPS, for results written before judged_rps
COLOURS = {"p50": "#2ca02c", "p95": "#ff7f0e", "p99": "#d62728"}
NEAR_ZERO = {"utilisation": 1e-3, "latency": 1e-3}


def judged_rps(data: ModelResults, tier: str) -> float:
    slo = data.summary.slo.get(tier)
    value = getattr(slo, "judged_rps", None) if slo is not None else None
    return JUDGED_RPS_DEFAULT if value is None else float(value)


def slo_table(data: ModelResults, t: Labels) -> Table | None:
    slo = data.summary.slo
    if not slo:
        return None
    rows: list[list[str]] = []
    bad: set[int] = set()
    for tier, s in slo.items():
        if not s.compliant:
            bad.add(len(rows))
        judged = s.judged_minutes
        latency = bool(s.targets_ms or s.target_p95_ms)  # a bandwidth tier has none to judge
        rows.append([tier, _ms(s.p95_ms if latency else None),
                     _ms(s.worst_minute_p95_ms if judged != 0 and latency else None),
                     _ms(s.target_p95_ms), f"{judged:,}" if judged is not None else "–",
                     share(s.compliant_minutes_share, 2) if judged != 0 else "–",
                     share(s.max_utilisation), share(s.target_max_utilisation, 0),
                     t("met") if s.compliant else t("missed")])
    header = [t("tier"), t("p95_worst"), t("worst_minute"), t("target"), t("judged_minutes"),
              t("compliant_share"), t("peak_util"), t("util_cap"), ""]
    rps = figure(judged_rps(data, next(iter(slo))))
    return Table(t("slo"), header, rows, bad, note=t("slo_rule", rps=rps))


def _ms(value: float | None) -> str:
    return f"{figure(value)} ms" if value is not None else "–"


def tier_load(data: ModelResults, tier: str) -> np.ndarray | None:
    """Requests/s the tier serves each minute: the endpoints with demand on it (scenario)."""
    if data.scenario is None:
        return None
    names = [e.name for e in data.scenario.platform.endpoints if e.visits(tier)]
    columns = [data.series[f"rps.{n}"] for n in names if f"rps.{n}" in data.series]
    return np.sum(columns, axis=0) if columns else None


def say_nothing_to_draw(ax, t: Labels, limit: str) -> None:
    ax.text(0.5, 0.5, t("all_near_zero", limit=limit), transform=ax.transAxes, ha="center", va="center",
            fontsize=10, color="#5a6775")
    ax.set_yticks([])


def utilisation(data: ModelResults, t: Labels) -> Figure | None:
    tiers = [k.split(".")[1] for k in data.series if k.startswith("tier.") and k.endswith(".utilisation")]
    if not tiers:
        return None
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.set(title=t("utilisation"), ylabel=t("utilisation_axis"))
    top = 0.0
    for i, tier in enumerate(tiers):
        hours, peak = hourly(data.times, data.series[f"tier.{tier}.utilisation"])
        if np.nanmax(peak, initial=0.0) < NEAR_ZERO["utilisation"]:
            continue
        colour = f"C{i}"
        ax.plot(hours.astype("datetime64[m]"), peak, lw=0.8, color=colour, label=tier)
        top = max(top, float(np.nanmax(peak)))
        cap = data.summary.slo.get(tier)
        if cap is not None and cap.target_max_utilisation is not None:
            ax.axhline(cap.target_max_utilisation, color=colour, ls=":", lw=1,
                       label=t("slo_cap", name=tier))
    if top == 0.0:
        say_nothing_to_draw(ax, t, share(NEAR_ZERO["utilisation"]))
        return fig
    caps = [s.target_max_utilisation for s in data.summary.slo.values() if s.target_max_utilisation]
    # the caps stay on the chart: the lines drawn are what the table judges against
    ax.set_ylim(0, min(1.05, max([top, *caps]) * 1.1))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}" if top > 0.05 else f"{v:.1%}"))
    ax.legend(fontsize=8, ncols=4, loc="upper left")
    fig.autofmt_xdate()
    return fig


def _targets(data: ModelResults, tier: str) -> dict[str, float]:
    slo = data.summary.slo.get(tier)
    targets = dict(slo.targets_ms) if slo is not None and slo.targets_ms else {}
    if not targets and slo is not None and slo.target_p95_ms:
        targets = {"p95_ms": slo.target_p95_ms}
    return {key[:3]: value for key, value in targets.items()}


def latency(data: ModelResults, t: Labels) -> Figure | None:
    platform_tiers = data.scenario.platform.tiers if data.scenario else []
    bandwidth = {x.name for x in platform_tiers if x.kind == "bandwidth"}
    tiers = [k.split(".")[1] for k in data.series if k.startswith("tier.") and k.endswith(".p95_ms")]
    tiers = [x for x in tiers if x not in bandwidth and np.nanmax(data.series[f"tier.{x}.p95_ms"]) > 0]
    if not tiers:
        return None
    fig = Figure(figsize=(11, 2.7 * len(tiers) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(tiers), 1, sharex=True))
    for ax, tier in zip(axes, tiers, strict=True):
        _latency_panel(ax, data, tier, t)
    axes[0].set_title(t("latency"))
    fig.autofmt_xdate()
    return fig


def _latency_panel(ax, data: ModelResults, tier: str, t: Labels) -> None:
    load = tier_load(data, tier)
    threshold = judged_rps(data, tier)
    judged = load >= threshold if load is not None else np.ones(len(data.times), bool)
    for p, colour in COLOURS.items():
        key = f"tier.{tier}.{p}_ms"
        if key not in data.series:
            continue
        values = data.series[key]
        hours, peak = hourly(data.times, np.where(judged, values, np.nan))
        x = hours.astype("datetime64[m]")
        ax.plot(x, np.where(peak > 0, peak, np.nan), lw=0.8, color=colour, label=p)
        _, thin = hourly(data.times, np.where(judged, np.nan, values))
        ax.plot(hours.astype("datetime64[m]"), np.where(thin > 0, thin, np.nan), lw=0.7, color="#9aa3ad",
                label=t("unjudged", rps=figure(threshold)) if p == "p95" else None)
    for p, ms in _targets(data, tier).items():
        ax.axhline(ms, color=COLOURS.get(p, "#555555"), ls=":", lw=1.1,
                   label=t("target_line", p=p, ms=figure(ms)))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel(t("latency_ms"))
    ax.set_title(tier, fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0))  # beside, never over the lines
