"""Side-by-side comparison of model runs for what-if work (``yanxiu compare A B [C...]``).

The first folder is the reference: every other run's figures are shown with their difference
from it. Headline figures, capacity needs and service levels go in tables, the load curves
(hourly peak requests/s) and daily active teachers in overlaid charts, all on one page in the
report's style. Runs of different kinds or over different windows are refused: their figures
do not describe the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from report import campaigns
from report.data import ModelResults, load
from report.headline import Table
from report.i18n import Labels
from report.model_charts import hourly
from report.numbers import amount, figure, share

KIND_NAMES = {"model": "a model run", "loadtest": "a load test", "workload": "a queueing experiment"}


class CompareError(ValueError):
    """Runs that cannot be compared; str() is one line."""


@dataclass
class Run:
    label: str
    data: ModelResults


def load_runs(folders: list[str | Path]) -> list[Run]:
    """The runs, refused unless all are model runs over the same window."""
    if len(folders) < 2:
        raise CompareError("give at least two results folders")
    runs, labels = [], _labels([Path(f) for f in folders])
    for folder, label in zip(folders, labels, strict=True):
        data = load(folder)
        kind = getattr(data.summary, "kind", "?")
        if not isinstance(data, ModelResults):
            raise CompareError(f"{folder} is {KIND_NAMES.get(kind, kind)}, not a model run: compare "
                               f"puts model runs side by side; different kinds cannot be compared")
        runs.append(Run(label, data))
    first = runs[0].data.summary.window
    for run in runs[1:]:
        window = run.data.summary.window
        if (window.start, window.minutes) != (first.start, first.minutes):
            raise CompareError(f"{run.data.folder} covers {_span(window)} but {runs[0].data.folder} covers "
                               f"{_span(first)}: runs over different windows cannot be compared")
    return runs


def _span(window) -> str:
    return f"{window.start[:16]} + {window.minutes:,} minutes"


def _labels(folders: list[Path]) -> list[str]:
    names = [f.name for f in folders]
    if len(set(names)) == len(names):
        return names
    return [str(f) for f in folders]


def _delta(value: float | None, reference: float | None, relative: bool = True) -> str:
    if value is None or reference is None or not (math.isfinite(value) and math.isfinite(reference)):
        return ""
    if value == reference:
        return " (=)"
    if relative and reference:
        return f" ({(value - reference) / abs(reference):+.1%})".replace("-", "−")
    return f" ({value - reference:+,.4g})".replace("-", "−")


def _row(label: str, values: list[float | None], shown) -> list[str]:
    cells = [label, shown(values[0])]
    cells += [shown(v) + _delta(v, values[0]) for v in values[1:]]
    return cells


def headline_table(runs: list[Run], t: Labels) -> Table:
    rows = []
    for key, label in (("participants", "card_participants"), ("completed_all", "card_completed"),
                       ("certified", "card_certified")):
        values = [r.data.summary.outcomes.get(key) for r in runs]
        rows.append(_row(t(label), values, lambda v: figure(v)))
    for series, label, unit in (("rps.total", "peak_rps", "/s"), ("sessions", "peak_sessions", ""),
                                ("viewers", "peak_viewers", ""), ("egress_gbps", "peak_bandwidth", " Gbps"),
                                ("sms_per_s", "peak_sms", "/s")):
        peaks = [r.data.summary.peaks.get(series) for r in runs]
        values = [p.value if p is not None else None for p in peaks]
        rows.append(_row(t(label), values, lambda v, unit=unit: figure(v) + unit if v is not None else "–"))
        rows.append([f"  {t('at')}", *[p.at[:16].replace("T", " ") if p else "–" for p in peaks]])
    return Table(t("cmp_headline"), [t("metric"), *[r.label for r in runs]], rows)


def _amount(value: float | None, unit: str, field: str, t: Labels) -> str:
    """A capacity figure; a missing plan is unbounded (records write inf as null), a missing
    minimum or size is not known."""
    return amount(value, unit, t) if value is not None or field == "needed" else "–"


def capacity_table(runs: list[Run], t: Labels) -> Table:
    tiers = list(runs[0].data.summary.capacity)
    rows: list[list[str]] = []
    bad: set[int] = set()
    for tier in tiers:
        caps = [r.data.summary.capacity.get(tier) for r in runs]
        unit = next((c.unit for c in caps if c is not None), "")
        if any(c is not None and c.needed is not None and c.provided is not None and c.needed > c.provided
               for c in caps):
            bad.add(len(rows))
        # what each run had, the least that keeps the latency targets, the plan with headroom
        for label, field in ((f"{tier}: {t('provided')}", "provided"), (f"  {t('minimum')}", "minimum"),
                             (f"  {t('needed')}", "needed")):
            values = [getattr(c, field) if c is not None else None for c in caps]
            rows.append(_row(label, values, lambda v, unit=unit, field=field: _amount(v, unit, field, t)))
    return Table(t("cmp_capacity"), [t("tier"), *[r.label for r in runs]], rows, bad)


def slo_table(runs: list[Run], t: Labels) -> Table:
    tiers = list(runs[0].data.summary.slo)
    rows: list[list[str]] = []
    bad: set[int] = set()
    for tier in tiers:
        records = [r.data.summary.slo.get(tier) for r in runs]
        if any(s is not None and not s.compliant for s in records):
            bad.add(len(rows))
        cells = [tier]
        for i, s in enumerate(records):
            if s is None:
                cells.append("–")
                continue
            if s.judged_minutes == 0:
                cells.append(t("not_judged"))
                continue
            verdict = t("met") if s.compliant else t("missed")
            worst = f", {figure(s.worst_minute_p95_ms)} ms" if s.worst_minute_p95_ms is not None else ""
            text = f"{verdict} {share(s.compliant_minutes_share, 2)}{worst}"
            if i and records[0] is not None and records[0].judged_minutes != 0:
                text += _delta(s.compliant_minutes_share * 100, records[0].compliant_minutes_share * 100,
                               relative=False).replace(")", " pt)")
            cells.append(text)
        rows.append(cells)
    return Table(t("cmp_slo"), [t("tier"), *[r.label for r in runs]], rows, bad, note=t("cmp_slo_note"))


def load_curves(runs: list[Run], t: Labels) -> Figure | None:
    fig = Figure(figsize=(11, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    for i, run in enumerate(runs):
        data = run.data
        if "rps.total" in data.series:
            hours, peak = hourly(data.times, data.series["rps.total"])
            top.plot(hours.astype("datetime64[m]"), peak, lw=0.9, color=f"C{i}", label=run.label,
                     alpha=0.9 if i == 0 else 0.75)
        if "active" in data.daily and len(data.days):
            bottom.plot(data.days, data.daily["active"], lw=1.4, marker=".", color=f"C{i}", label=run.label)
    top.set(title=t("cmp_load"), ylabel=t("requests_per_s"))
    bottom.set(title=t("activity"), ylabel=t("active_teachers"))
    for ax in (top, bottom):
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
        ax.legend(fontsize=8, loc="upper right")
    fig.autofmt_xdate()
    return fig


def peak_days(runs: list[Run], t: Labels) -> Figure | None:
    """Daily peak requests/s: the what-if's effect on the days that size the platform."""
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax = fig.subplots()
    for i, run in enumerate(runs):
        data = run.data
        if "rps.total" not in data.series:
            continue
        days = data.times.astype("datetime64[D]")
        keys, index = np.unique(days, return_inverse=True)
        peak = np.zeros(len(keys))
        np.maximum.at(peak, index, np.nan_to_num(data.series["rps.total"]))
        ax.plot(keys, peak, lw=1.2, marker=".", color=f"C{i}", label=run.label)
    ax.set(title=t("cmp_daily_peak"), ylabel=t("requests_per_s"))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: figure(v)))
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return fig


CHARTS = {"compare_load": load_curves, "compare_daily_peak": peak_days}


def build_compare(folders: list[str | Path], out: str | Path, lang: str = "en") -> Path:
    """Write the comparison page and its PNGs; return the page's path."""
    import matplotlib

    from report import html
    from report.build import DPI
    from report.fonts import find_cjk_font, rc_for

    runs = load_runs(folders)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = Labels(lang)
    family = find_cjk_font() if lang == "zh" else None
    chart_labels = Labels(lang if family or lang != "zh" else "en")
    charts = []
    with matplotlib.rc_context(rc_for(family)):
        for key, draw in CHARTS.items():
            fig = draw(runs, chart_labels)
            if fig is None:
                continue
            png = out.parent / f"{key}{'' if lang == 'en' else '.' + lang}.png"
            fig.savefig(png, dpi=DPI)
            charts.append(html.Chart(key, page(key), png))
    tables = [headline_table(runs, page), capacity_table(runs, page), slo_table(runs, page)]
    for run in runs:  # platform runs: each campaign's part of the peak and of the tiers' needs
        tables += campaigns.tables(run.data.summary, page, run.label)
    meta = " · ".join(f"{r.label}: {r.data.folder} ({page('meta_seed')} {r.data.summary.seed})" for r in runs)
    headings = {key: page(key) for key in ("headline", "charts", "notes", "verdict")}
    text = html.render(lang=lang, title=page("cmp_title", names=" / ".join(r.label for r in runs)), meta=meta,
                       cards=[], tables=tables, charts=charts, notes=[], headings=headings,
                       verdict=[page("cmp_reference", name=runs[0].label)])
    out.write_text(text, encoding="utf-8")
    return out
