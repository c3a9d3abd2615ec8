"""Headline figures and tables for the top of the report, from summary.json (falling back to
the files where a summary entry is missing)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from report.data import LoadtestResults, ModelResults
from report.i18n import Labels


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


def number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _peak(data: ModelResults, series: str) -> tuple[float | None, str]:
    entry = data.summary.peaks.get(series)
    if entry is not None and entry.value is not None:
        return float(entry.value), entry.at[:16].replace("T", " ")
    values = data.series.get(series)
    if values is None or len(values) == 0:
        return None, ""
    i = int(np.nanargmax(values))
    return float(values[i]), str(data.times[i]).replace("T", " ")


def _certified(data: ModelResults) -> tuple[float | None, float | None]:
    outcomes = data.summary.outcomes
    count = outcomes.get("certified")
    if count is None and "certified" in data.daily and len(data.daily["certified"]):
        count = float(np.nanmax(data.daily["certified"]))
    share = data.summary.metrics.get("share(certified)")
    if share is None and count is not None:
        participants = outcomes.get("participants") or (
            data.scenario.population.participants if data.scenario else None)
        share = count / participants if participants else None
    return count, share


def model_cards(data: ModelResults, t: Labels) -> list[Card]:
    cards = []
    for series, key, unit in (("rps.total", "peak_rps", "/s"), ("viewers", "peak_viewers", ""),
                              ("sessions", "peak_sessions", ""), ("egress_gbps", "peak_bandwidth", " Gbps"),
                              ("sms_per_s", "peak_sms", "/s")):
        value, at = _peak(data, series)
        if value is not None:
            cards.append(Card(t(key), number(value) + unit, f"{t('at')} {at}" if at else ""))
    count, share = _certified(data)
    if count is not None:
        detail = f"{share:.1%}" if share is not None else ""
        cards.append(Card(t("certified"), number(count), detail))
    return cards


def capacity_table(data: ModelResults, t: Labels) -> Table | None:
    capacity = data.summary.capacity
    if not capacity:
        return None
    rows, bad = [], set()
    for tier, c in capacity.items():
        needed, provided = c.needed, c.provided
        short = needed is not None and provided is not None and needed > provided
        if short:
            bad.add(len(rows))
        margin = c.margin
        rows.append([tier, f"{number(needed)} {c.unit}", f"{number(provided)} {c.unit}",
                     f"{margin:+.0%}" if margin is not None else "–",
                     str(c.at)[:16].replace("T", " "), t("short") if short else t("enough")])
    header = [t("tier"), t("needed"), t("provided"), t("margin"), t("busiest"), ""]
    return Table(t("capacity"), header, rows, bad)


def _ms(value: object) -> str:
    return f"{number(value)} ms" if isinstance(value, int | float) else "–"


def _share(value: object, digits: int = 0) -> str:
    return f"{value:.{digits}%}" if isinstance(value, int | float) else "–"


def slo_table(data: ModelResults, t: Labels) -> Table | None:
    slo = data.summary.slo
    if not slo:
        return None
    rows, bad = [], set()
    for tier, s in slo.items():
        ok = s.compliant
        if not ok:
            bad.add(len(rows))
        rows.append([tier, _ms(s.p95_ms), _ms(s.target_p95_ms),
                     _share(s.max_utilisation), _share(s.target_max_utilisation),
                     _share(s.compliant_minutes_share, 2), t("met") if ok else t("missed")])
    header = [t("tier"), t("p95_worst"), t("target"), t("peak_util"), t("util_cap"), t("compliant_share"), ""]
    return Table(t("slo"), header, rows, bad)


def confirmation_table(data: ModelResults, t: Labels) -> Table | None:
    """The request-level check of the peak minute (summary.json "confirmation"), one row per tier."""
    confirmation = data.summary.confirmation
    if confirmation is None or not confirmation.minutes or not confirmation.minutes[0].tiers:
        return None
    peak = confirmation.minutes[0]
    rows, bad = [], set()
    for tier, f in peak.tiers.items():
        # docs/tiers.md: the model's p95 is within 20% of request level for mixed tiers
        if abs(f.p95_s.relative_error or 0.0) > 0.2:
            bad.add(len(rows))
        util = f.utilisation
        rows.append([tier, number(f.requests), f"{util.model:.3%} / {util.simulated:.3%}",
                     f.mean_wait_s.model_simulated(number), f.p95_s.model_simulated(number),
                     f.p99_s.model_simulated(number)])
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
    return Table(t("lt_model"), [t("metric"), t("model"), t("measured"), "÷"], body)
