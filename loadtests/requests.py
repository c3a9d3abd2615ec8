"""Requests per endpoint: what the model planned for the replayed stretch against what the
target got, over the whole replay and per 10-second bin of test time.

The plan is the model's own per-endpoint rates for the replayed minutes (``timeseries.csv``,
``rps.<endpoint>``), scaled and compressed as the replay is: a model minute lasts
``60 / compress`` s of test time and carries ``scale`` of its requests, so a rate becomes
``rps × scale × compress``. What the target got comes from Locust's per-second history
(``stats_history.csv``, cumulative counts), so it needs no help from the target. Arrivals alone
can match the plan while requests do not (sessions that stall behind slow answers, a replay
that starts from an empty system): this is the check that sees it.

A bin off by more than 10% is not always a shortfall: a bin's requests come from a sample of
sessions, in the replay and in the model alike, and at a small scale a few sessions carry most
of them. Each judged bin is also compared with its sampling band (``loadtests.noise``), so the
judgement says whether a miss is within what the sessions' sampling gives by chance.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np

from loadtests.noise import BIN_S, Z, band, chance_of, per_bin, sessions_per_bin, stretch_variance, variance
from loadtests.plan import TOLERANCE, PlanError
from loadtests.timing import LEAD_S
from records.loadtest import LoadtestSummary, RequestsVsPlan

CHANCE = 0.05  # bins outside the band more often than chance gives this rarely: a real shortfall
MIN_PER_BIN = 20.0  # a bin planning fewer requests is too noisy to judge by a relative error


def model_rates(timeseries: Path, first_minute: str, minutes: int, endpoints: list[str], scale: float,
                compress: float) -> np.ndarray:
    """(endpoints × minutes) requests/s at test scale for the replayed minutes."""
    with timeseries.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    first = dt.datetime.fromisoformat(first_minute)
    start = next((i for i, r in enumerate(rows) if dt.datetime.fromisoformat(r["minute"]) == first), None)
    if start is None:
        raise PlanError(f"{timeseries}: no minute {first_minute} (not the model run the test replayed)")
    cut = rows[start:start + minutes]
    return np.array([[float(r.get(f"rps.{e}") or 0.0) for r in cut] for e in endpoints]) * scale * compress


def history_per_bin(folder: Path, edges: np.ndarray, set_up_s: float = 0.0) -> dict[str, np.ndarray]:
    """Requests finished per endpoint in each bin of test time, from ``stats_history.csv``
    (cumulative counts once a second; the origin is the first row plus the master's lead and
    the resumed sessions' set-up window)."""
    rows = _history(folder)
    if not rows:
        return {}
    origin = float(rows[0]["Timestamp"]) + LEAD_S + set_up_s
    series: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        if r["Name"] and r["Name"] != "Aggregated":
            times, counts = series.setdefault(r["Name"], ([], []))
            times.append(float(r["Timestamp"]) - origin)
            counts.append(float(r["Total Request Count"]))
    return {name: np.diff(np.interp(edges, t, c)) for name, (t, c) in series.items()}


def _history(folder: Path) -> list[dict[str, str]]:
    path = folder / "stats_history.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def replay_origin(folder: Path, set_up_s: float = 0.0) -> float | None:
    """The replay's origin in wall-clock seconds (to within Locust's one-second history rows),
    as ``history_per_bin`` times its bins; None without a history."""
    first = next(iter(_history(folder)), None)
    return None if first is None else float(first["Timestamp"]) + LEAD_S + set_up_s


def achieved_per_bin(session_bins: dict[str, dict[str, list[float]]], set_up_s: float, folder: Path,
                     edges: np.ndarray) -> dict[str, np.ndarray]:
    """Requests finished per endpoint and bin: the sessions' own counts (``session_bins``, timed
    from the replay's exact origin) when the run has them, else Locust's per-second history, whose
    origin is only known to within its one-second rows (measured: a bin edge ~1 s off, 3 of a first
    bin's 32 page loads in the neighbour bin)."""
    if not session_bins or abs(float(edges[1] - edges[0]) - BIN_S) > 1e-9:
        return history_per_bin(folder, edges, set_up_s)
    n = edges.size - 1
    return {name: per_bin(record, "requests", n) for name, record in session_bins.items()}


def planned_per_bin(rates: np.ndarray, minute_s: float, edges: np.ndarray) -> np.ndarray:
    """(endpoints × bins) requests the plan puts in each bin (rates are per model minute)."""
    minute_edges = np.arange(rates.shape[1] + 1) * minute_s
    cumulative = np.concatenate([np.zeros((rates.shape[0], 1)), np.cumsum(rates * minute_s, axis=1)], axis=1)
    return np.array([np.diff(np.interp(edges, minute_edges, row)) for row in cumulative])


def requests_vs_plan(summary: LoadtestSummary, folder: Path, endpoints: list[str],
                     timeseries: Path) -> dict[str, RequestsVsPlan]:
    """Per endpoint of the scenario: planned and achieved requests over the replay, and per bin."""
    if summary.stretch_first_minute is None:
        return {}
    minute_s = 60.0 / float(summary.compress)
    minutes = max(1, int(round(float(summary.duration_s) / minute_s)))
    rates = model_rates(timeseries, summary.stretch_first_minute, minutes, endpoints,
                        float(summary.scale), float(summary.compress))
    edges = np.arange(0.0, rates.shape[1] * minute_s + 1e-9, BIN_S)
    planned_bins = planned_per_bin(rates, minute_s, edges) if edges.size >= 2 else None
    history = (achieved_per_bin(summary.session_bins, float(summary.set_up_s), folder, edges)
               if edges.size >= 2 else {})
    factor = plan_factor(float(summary.scale), timeseries.parent)
    out = {}
    for i, name in enumerate(endpoints):
        planned = float(rates[i].sum() * minute_s)
        figures = summary.endpoints.get(name)
        achieved = figures.requests if figures is not None else 0
        row = RequestsVsPlan(planned=round(planned, 1), achieved=achieved,
                             ratio=achieved / planned if planned > 0 else None)
        if planned_bins is not None and name in history:
            poisson = summary.arrival_process == "poisson"
            record = summary.session_bins.get(name)
            _judge_bins(row, planned_bins[i], history[name], record, factor, poisson)
            _judge_stretch(row, planned_bins[i], history[name], record, factor, poisson)
            row.on_plan = on_plan(row)
            row.judgement = judgement(row) if row.on_plan is not None else None
        out[name] = row
    return out


def with_requests(summary: LoadtestSummary, rows: dict[str, RequestsVsPlan]) -> LoadtestSummary:
    """The summary with the rows, the endpoints off the plan beyond sampling noise (one line
    each) and their gate metrics: ``max(requests.error.<e>)`` (|in-stretch / planned - 1|) and
    ``max(requests.bin_error.<e>)`` (the largest judged bin's), for ``yanxiu check``."""
    metrics = dict(summary.metrics)
    for name, row in rows.items():
        if row.stretch_ratio is not None:
            metrics[f"max(requests.error.{name})"] = round(abs(float(row.stretch_ratio) - 1.0), 4)
        if row.max_bin_error is not None:
            metrics[f"max(requests.bin_error.{name})"] = round(float(row.max_bin_error), 4)
    return summary.model_copy(update={"requests_vs_plan": rows, "requests_off_plan": off_plan(rows),
                                      "metrics": metrics})


def with_model_plan(summary: LoadtestSummary, endpoints: list[str], model: Path | None,
                    folder: Path) -> LoadtestSummary:
    """``with_requests`` in the master that writes ``summary.json`` (every run whose model run is
    at hand: plain Locust, a calibration's steps, a bench's levels), from the sessions' own counts;
    the summary as it was when the model run is not the replayed one."""
    if model is None:
        return summary
    try:
        rows = requests_vs_plan(summary, folder, endpoints, model / "timeseries.csv")
    except (PlanError, OSError, ValueError, KeyError, csv.Error):  # never lose the run's summary to it
        return summary
    return with_requests(summary, rows)


def off_plan(rows: dict[str, RequestsVsPlan]) -> list[str]:
    """One line per endpoint whose requests are off the model's beyond what sampling gives."""
    return [f"{name}: {row.judgement}" for name, row in rows.items() if row.on_plan is False]


def plan_factor(scale: float, model: Path) -> float | None:
    """The plan's sampling variance over the replay's (loadtests.noise): the replay's scale times
    the model's weight (full-scale teachers per simulated one, its summary.json); None when the
    model run does not say."""
    try:
        weight = json.loads((model / "summary.json").read_text(encoding="utf-8")).get("weight")
    except (OSError, ValueError):
        return None
    return scale * float(weight) if isinstance(weight, int | float) else None


def _judge_bins(row: RequestsVsPlan, planned: np.ndarray, got: np.ndarray,
                sessions: dict[str, list[float]] | None, factor: float | None, poisson: bool = False) -> None:
    """Bins planning at least MIN_PER_BIN requests, from the first on (the issue's test: within
    10% from the first 10-s bin), each against its sampling band when the sessions' counts are
    at hand."""
    row.planned_per_bin = [round(float(v), 1) for v in planned]
    row.achieved_per_bin = [round(float(v), 1) for v in got]
    judged = planned >= MIN_PER_BIN
    row.bins_judged = int(judged.sum())
    if not judged.any():
        return
    errors = np.abs(got[judged] - planned[judged]) / planned[judged]
    row.first_bin_error = float(errors[0])
    row.max_bin_error = float(errors.max())
    row.within_10pct = bool(row.max_bin_error <= TOLERANCE)
    width = None
    if sessions is not None and factor is not None:
        sums, sum_sq = (per_bin(sessions, k, planned.size) for k in ("requests", "sum_sq"))
        width = band(variance(sessions, planned.size, poisson, factor))
        row.plan_factor = round(factor, 4)
        row.band_per_bin = [round(float(v), 1) for v in width]
        row.sessions_per_bin = [round(float(v), 1) for v in sessions_per_bin(sums, sum_sq)]
        row.bins_outside_band = [int(b) for b in np.flatnonzero(judged & (np.abs(got - planned) > width))]
    if width is not None:
        row.band_typical = round(float(np.median(width[judged] / planned[judged])), 4)
        row.first_bin_band = round(float(width[judged][0]), 1)


def _judge_stretch(row: RequestsVsPlan, planned: np.ndarray, got: np.ndarray,
                   record: dict[str, list[float]] | None, factor: float | None, poisson: bool) -> None:
    """The whole replayed stretch (its bins from the origin to its end; Locust's total also has
    the drain after it), when it plans at least MIN_PER_BIN requests, against its sampling band:
    the spread of each session's total, the plan's too (``noise.stretch_variance``)."""
    expected = float(planned.sum())
    if expected < MIN_PER_BIN:
        return
    row.in_stretch = round(float(got[:planned.size].sum()), 1)
    row.stretch_ratio = round(float(row.in_stretch) / expected, 4)
    var = stretch_variance(record, planned.size, poisson, factor) if record and factor is not None else None
    if var:
        sd = math.sqrt(var)
        row.stretch_band = round(Z * sd, 1)
        row.stretch_z = round((float(row.in_stretch) - expected) / sd, 2)


def on_plan(row: RequestsVsPlan) -> bool | None:
    """The replay put the model's requests on the target: over the stretch and in bin 0 (the
    replay's initial condition, when bin 0 plans enough to be judged) within 10% or, failing that,
    within the sampling band, and no more bins outside their band than chance gives; None when
    nothing was judged (too few requests planned). Each of the three is a 5% test, so an endpoint
    whose only difference from the plan is sampling is called off it ~13% of the time (when it
    is also outside 10%): read ``stretch_z`` and the bins before calling it a shortfall."""
    checks = []
    if row.stretch_ratio is not None:
        off = abs(float(row.in_stretch or 0) - float(row.planned))
        checks.append(abs(float(row.stretch_ratio) - 1) <= TOLERANCE
                      or (row.stretch_band is not None and off <= float(row.stretch_band)))
    if row.bins_judged:
        if row.planned_per_bin and row.planned_per_bin[0] >= MIN_PER_BIN:  # bin 0 itself is judged
            first = float(row.first_bin_error or 0)
            noise = (row.first_bin_band is not None
                     and first * float(row.planned_per_bin[0]) <= float(row.first_bin_band))
            checks.append(first <= TOLERANCE or noise)
        outside = len(row.bins_outside_band)
        by_chance = not outside or chance_of(outside, row.bins_judged) >= CHANCE
        checks.append(bool(row.within_10pct) or (row.band_typical is not None and by_chance))
    return all(checks) if checks else None


def judgement(row: RequestsVsPlan) -> str:
    """One line: the bins (within 10%, or off by more but within sampling noise, or a real
    shortfall), then the whole stretch against its band."""
    parts = [bins_judgement(row)] if row.bins_judged else []
    if row.stretch_ratio is not None:
        parts.append(stretch_judgement(row))
    return "; ".join(parts)


def stretch_judgement(row: RequestsVsPlan) -> str:
    ratio = float(row.stretch_ratio or 0)
    head = f"whole stretch {ratio:.2f}x"
    if abs(ratio - 1) <= TOLERANCE:
        return head + " (within 10%)"
    if row.stretch_band is None:
        return head + ", NOT within 10%; sampling band unknown"
    band_pct = 100 * float(row.stretch_band) / float(row.planned)
    within = abs(float(row.in_stretch or 0) - float(row.planned)) <= float(row.stretch_band)
    return (f"{head}, NOT within 10%, {'within' if within else 'beyond'} sampling noise "
            f"(band ±{band_pct:.0f}%, {row.stretch_z:+.1f} sd)")


def bins_judgement(row: RequestsVsPlan) -> str:
    """Within 10% in every judged bin, or off by more but within sampling noise, or not."""
    if row.within_10pct:
        return f"within 10% in all {row.bins_judged} bins"
    worst = f"max bin error {100 * (row.max_bin_error or 0):.0f}%"
    if row.band_typical is None:
        return f"NOT within 10% ({worst}); sampling band unknown (no per-session counts or model weight)"
    typical = float(row.band_typical)
    # the band narrows as 1 / sqrt(sessions) when the replay and the model both grow
    noisy = (f"; the sampling band alone is ±{100 * typical:.0f}% a bin: too few sessions for a 10% test "
             f"(about {(typical / TOLERANCE) ** 2:.0f}x as many in the replay and the model)"
             if typical > TOLERANCE else "")
    if not row.bins_outside_band:
        return f"NOT within 10% ({worst}), but every bin within sampling noise{noisy}"
    outside = len(row.bins_outside_band)
    chance = chance_of(outside, row.bins_judged)
    verdict = ("beyond chance" if chance < CHANCE else
               f"as many as chance alone gives {100 * chance:.0f}% of the time")
    return (f"NOT within 10% ({worst}); {outside} of {row.bins_judged} bins outside sampling noise "
            f"(bins {', '.join(map(str, row.bins_outside_band))}): {verdict}{noisy}")

