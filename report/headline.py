"""Headline figures and tables for the top of the report, from summary.json (falling back to
the files where a summary entry is missing)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from report.data import LoadtestResults, ModelResults
from report.i18n import Labels
from report.numbers import amount, figure, share


@dataclass
class Card:
    label: str
    value: str
    detail: str = ""
    bad: bool = False


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    bad_rows: set[int] = field(default_factory=set)
    note: str = ""  # a line under the table (e.g. how the figures are judged)


def number(value: float | None, digits: int = 3) -> str:
    """report.numbers.figure: as a person writes it (no 2.8e-72)."""
    return figure(value, digits)


def non_negative(value: float) -> str:
    """A figure of a quantity that cannot be negative (a wait, a percentile): a Student-t
    interval's lower bound below zero is shown as 0."""
    return figure(max(value, 0.0))


def _peak(data: ModelResults, series: str) -> tuple[float | None, str]:
    entry = data.summary.peaks.get(series)
    if entry is not None and entry.value is not None:
        return float(entry.value), entry.at[:16].replace("T", " ")
    values = data.series.get(series)
    if values is None or len(values) == 0:
        return None, ""
    i = int(np.nanargmax(values))
    return float(values[i]), str(data.times[i]).replace("T", " ")


def model_cards(data: ModelResults, t: Labels) -> list[Card]:
    cards = []
    for series, key, unit in (("rps.total", "peak_rps", "/s"), ("viewers", "peak_viewers", ""),
                              ("sessions", "peak_sessions", ""), ("egress_gbps", "peak_bandwidth", " Gbps"),
                              ("sms_per_s", "peak_sms", "/s")):
        value, at = _peak(data, series)
        if value is not None:
            cards.append(Card(t(key), number(value) + unit, f"{t('at')} {at}" if at else ""))
    return cards  # participants, completions, certificates: report.verdict.outcome_cards


def capacity_table(data: ModelResults, t: Labels) -> Table | None:
    capacity = data.summary.capacity
    if not capacity:
        return None
    rows: list[list[str]] = []
    bad: set[int] = set()  # rows to mark
    for tier, c in capacity.items():
        needed, provided = c.needed, c.provided
        short = needed is not None and provided is not None and needed > provided
        below = c.minimum is not None and provided is not None and c.minimum > provided
        if short:
            bad.add(len(rows))
        minimum = amount(c.minimum, c.unit, t) if c.minimum is not None else "–"
        state = t("below_minimum") if below else t("short_of_headroom") if short else t("enough")
        rows.append([tier, minimum, amount(needed, c.unit, t), amount(provided, c.unit, t),
                     _margin(c.margin), str(c.at)[:16].replace("T", " "), state])
    header = [t("tier"), t("minimum"), t("needed"), t("provided"), t("margin"), t("busiest"), ""]
    return Table(t("capacity"), header, rows, bad, note=t("capacity_note"))


def _margin(margin: float | None) -> str:
    """+25% spare, −10% short; a large surplus as a multiple ('43× needed'), not '+4167%'."""
    if margin is None or not math.isfinite(margin):
        return "–"
    if margin > 3:
        return f"{margin + 1:,.0f}×"
    return f"{margin:+.0%}".replace("-", "−")


def confirmation_table(data: ModelResults, t: Labels) -> Table | None:
    """The request-level check of the peak minute (summary.json "confirmation"), one row per tier."""
    confirmation = data.summary.confirmation
    if confirmation is None or not confirmation.minutes or not confirmation.minutes[0].tiers:
        return None
    peak = confirmation.minutes[0]
    rows: list[list[str]] = []
    bad: set[int] = set()  # rows to mark
    for tier, f in peak.tiers.items():
        # docs/tiers.md: the model's p95 is within 20% of request level for mixed tiers
        if abs(f.p95_s.relative_error or 0.0) > 0.2:
            bad.add(len(rows))
        util = f.utilisation
        rows.append([tier, number(f.requests), f"{share(util.model, 2)} / {share(util.simulated, 2)}",
                     f.mean_wait_s.model_simulated(non_negative), f.p95_s.model_simulated(non_negative),
                     f.p99_s.model_simulated(non_negative)])
    header = [t("tier"), t("requests"), t("utilisation_axis"), f"{t('mean_wait')} ms", "p95 ms", "p99 ms"]
    return Table(t("confirmation", name=peak.at[:16].replace("T", " ")), header, rows, bad)


def loadtest_cards(data: LoadtestResults, t: Labels) -> list[Card]:
    s, metrics = data.summary, data.summary.metrics
    cards = []
    rps = data.history.get("Requests/s")
    if rps is not None and len(rps):
        cards.append(Card(t("lt_headline_rps"), number(float(np.nanmax(rps))) + "/s"))
    if isinstance(metrics.get("rate(errors)"), int | float):
        cards.append(Card(t("error_rate"), f"{metrics['rate(errors)']:.2%}"))
    for p in ("p50", "p95", "p99"):
        value = metrics.get(f"{p}(latency.all)")
        if isinstance(value, int | float):
            cards.append(Card(f"{p}", f"{number(value)} ms"))
    cards.append(Card(t("trustworthy"), t("yes") if s.trustworthy else t("no"), bad=not s.trustworthy))
    cards.append(Card(t("arrival_error"), f"{s.arrivals.max_bin_error:.1%}"))
    return cards


def endpoints_table(data: LoadtestResults, t: Labels) -> Table | None:
    endpoints = data.summary.endpoints
    if not endpoints:
        return None
    rows = [[name, number(e.rps), f"{e.error_rate:.2%}", number(e.p50_ms),
             number(e.p95_ms), number(e.p99_ms)] for name, e in endpoints.items()]
    return Table(t("endpoints"), ["", "req/s", t("error_rate"), "p50 ms", "p95 ms", "p99 ms"], rows)


def model_table(rows: list[tuple[str, float, float]], t: Labels) -> Table | None:
    if not rows:
        return None
    body = [[key, number(model), number(measured), f"{measured / model:.2f}×" if model else "–"]
            for key, model, measured in rows]
    return Table(t("lt_model_run"), [t("metric"), t("model"), t("measured"), t("ratio_measured_model")], body)
