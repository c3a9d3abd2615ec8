"""Overload judged alike for a load test and for the model's prediction of it (issue 12).

The issue's bar: above the knee "the model predicts overload (growing queue, errors or timeouts)
and the measurement shows it". Until 2026-12-01 the bench called a level overloaded when its
whole replay's p95 was over the SLO or more than 1% of its requests failed (measured), and when a
tier's predicted utilisation reached 1 or an endpoint's predicted p95 was over the SLO
(predicted): two different rules, and no queue. Now both sides are judged by the same rule
(``Side``), on the same figures:

- the whole replay: the p95 of all requests over the SLO's, or errors (failures, or for the
  prediction requests slower than the scenario's timeout, ``behaviour.overload.abandon_after_s``)
  over its error rate;
- the busiest window (the 40 s a level puts at L x the knee): the rule a hold is judged by
  (``calibrate.knee.sustained``: a p95 over the SLO beyond one window's stall, errors; not the
  hold's "still filling" trend, which the replay's own start sets off), and throughput short of
  the requests that arrived in it by more than ``SHORT`` (a queue growing by that share);
- the prediction only: a tier's utilisation at 1 (``SATURATED``), the model's own queue.

Windows of a prediction are its requests by the second they finished (as Locust counts a
window), their percentiles at Locust's; windows of a measurement come from Locust's per-second
history (its rolling 10-s percentiles at each window's last second).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from calibrate.errors import CalibrationError
from calibrate.knee import SHORT, Overload, Window, sustained
from calibrate.steps import WINDOW_S, aggregated_seconds
from loadtests.requests import model_rates
from loadtests.timing import LEAD_S

if TYPE_CHECKING:
    from records.loadtest import EndpointFigures, LoadtestSummary
    from records.prediction import HostRow

# Locust's percentiles in its history (stats_history.csv), the windows' quantiles
FRACTIONS = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
SATURATED = 0.99  # a tier's predicted utilisation at which its queue has no steady state


@dataclass(frozen=True)
class Side:
    """One side's verdict (the measurement's or the prediction's) and why, in words."""

    overloaded: bool
    why: str
    p95_ms: float | None  # the whole replay's, all requests
    error_rate: float
    busiest: Overload | None  # the busiest window by 10-s windows (None: no windows)
    throughput_ratio: float | None  # requests finished in the busiest window over those arriving


def judge(p95_ms: float | None, error_rate: float, windows: list[Window], ratio: float | None,
          slo: tuple[float, float], saturated: list[str] | None = None) -> Side:
    """The verdict from the whole replay's ``p95_ms`` and ``error_rate``, the busiest window's
    10-s ``windows`` and its throughput ``ratio``, and (a prediction) the ``saturated`` tiers."""
    slo_p95, slo_errors = slo
    # a level's busiest window is not a hold's steady part: its first window is the replay's first
    # (resumed sessions set up just before it), so a rise across it is no queue still filling
    # (the 01:28 baseline's 60% level: 29, 170, 330, 250 ms, whole p95 140 ms); a queue that
    # grows shows as throughput short of what arrived (``ratio``) and a p95 over the SLO
    busiest = sustained(windows, slo_p95, slo_errors, hold=False) if windows else None
    reasons = []
    if p95_ms is not None and p95_ms > slo_p95:
        reasons.append(f"p95 {p95_ms:.0f} ms over the SLO's {slo_p95:.0f}")
    if error_rate > slo_errors:
        reasons.append(f"errors {100 * error_rate:.1f}%")
    if busiest is not None and busiest.overloaded:
        reasons.append(f"busiest {WINDOW_S * len(windows)} s: {busiest.why}")
    if ratio is not None and ratio < 1.0 - SHORT:
        reasons.append(f"busiest window finished {100 * ratio:.0f}% of its arrivals (queue growing)")
    if saturated:
        reasons.append(f"{', '.join(saturated)} at utilisation 1")
    text = "; ".join(reasons) if reasons else (
        f"p95 {p95_ms:.0f} ms, errors {100 * error_rate:.2f}%" if p95_ms is not None else "no figures")
    if not reasons and busiest is not None:
        text += f"; busiest window {busiest.why}"
    return Side(bool(reasons), text, p95_ms, error_rate, busiest, ratio)


def window_edges(start_s: float, seconds: float) -> list[float]:
    """The ends of the disjoint 10-s windows of ``seconds`` from ``start_s`` (test time)."""
    count = max(1, int(round(seconds / WINDOW_S)))
    return [start_s + WINDOW_S * (i + 1) for i in range(count)]


def prediction_windows(arrival_s: np.ndarray, response_s: np.ndarray, ends: list[float],
                       timeout_s: float = np.inf) -> list[Window]:
    """A prediction's requests by the window they finished in (``ends``: each window's last
    second, test time), with Locust's percentiles; requests slower than ``timeout_s`` fail when
    the client gives up on them (``timeout_s`` after they were sent)."""
    response_s = np.minimum(response_s, timeout_s)
    finish = arrival_s + response_s
    out = []
    for end in ends:
        inside = (finish > end - WINDOW_S) & (finish <= end)
        ms = response_s[inside] * 1000.0
        if ms.size == 0:
            out.append(Window(end, float(WINDOW_S), 0, 0, None))
            continue
        quantiles = tuple((f, float(np.quantile(ms, f))) for f in FRACTIONS)
        out.append(Window(end, float(WINDOW_S), int(ms.size), int((response_s[inside] >= timeout_s).sum()),
                          dict(quantiles)[0.95], quantiles))
    return out


def prediction_ratio(arrival_s: np.ndarray, response_s: np.ndarray, start_s: float,
                     end_s: float) -> float | None:
    """Requests a prediction finished in [start, end) over those arriving in it."""
    finish = arrival_s + response_s
    arrived = int(((arrival_s >= start_s) & (arrival_s < end_s)).sum())
    done = int(((finish >= start_s) & (finish < end_s)).sum())
    return done / arrived if arrived else None


def predicted(prediction: Any, start_s: float, seconds: float, slo: tuple[float, float],
              timeout_s: float = np.inf) -> Side:
    """The model's verdict on its prediction (``sim.tiers.replay.Prediction``) of a replay whose
    busiest window is ``seconds`` from ``start_s``. Without per-request figures (an older
    prediction) the whole replay's endpoints and tiers alone: the worst endpoint's p95."""
    saturated = [tier for tier, u in prediction.utilisation.items() if u >= SATURATED]
    endpoints = prediction.endpoints.values()
    requests = sum(e.requests for e in endpoints)
    errors = sum(e.error_rate * e.requests for e in endpoints) / requests if requests else 0.0
    arrival, response = getattr(prediction, "arrival_s", None), getattr(prediction, "response_s", None)
    if arrival is None or response is None or response.size == 0:
        worst = max((e.p95_ms for e in endpoints), default=None)
        return judge(worst, errors, [], None, slo, saturated)
    p95 = float(np.quantile(response, 0.95) * 1000.0)
    errors = float((response > timeout_s).mean())
    windows = prediction_windows(arrival, response, window_edges(start_s, seconds), timeout_s)
    ratio = prediction_ratio(arrival, response, start_s, start_s + seconds)
    return judge(p95, errors, windows, ratio, slo, saturated)


def measured(total: EndpointFigures, folder: Path, set_up_s: float, start_s: float, seconds: float,
             planned: float | None, slo: tuple[float, float]) -> Side:
    """The measurement's verdict: the load test's ``total`` (summary.json), its busiest window's
    10-s windows from Locust's history in ``folder``, and the requests finished there over the
    ``planned`` ones (what arrived: the replay is open, so the plan is what arrived)."""
    windows = history_windows_at(folder / "stats_history.csv", set_up_s, window_edges(start_s, seconds))
    done = sum(w.requests for w in windows)
    ratio = done / planned if planned and windows else None
    p95 = float(total.p95_ms) if total.p95_ms is not None else None
    return judge(p95, float(total.error_rate or 0.0), windows, ratio, slo)


def history_windows_at(path: Path, set_up_s: float, ends: list[float]) -> list[Window]:
    """Windows ending at ``ends`` (test time from the replay's origin: the history's first row
    plus the lead and the set-up window, as ``loadtests.requests.history_per_bin`` has it) from
    Locust's per-second "Aggregated" rows. No history: none."""
    if not path.is_file():
        return []
    rows = aggregated_seconds(path)
    if not rows:
        return []
    origin = rows[0][0] + LEAD_S + set_up_s

    def at(t: float) -> tuple[int, int, int, tuple[tuple[float, float], ...]]:
        known = [r for r in rows if r[0] <= origin + t]
        return known[-1] if known else (0, 0, 0, ())

    out = []
    for end in ends:
        (_, n1, f1, quantiles), (_, n0, f0, _) = at(end), at(end - WINDOW_S)
        p95 = next((ms for fraction, ms in quantiles if abs(fraction - 0.95) < 1e-9), None)
        out.append(Window(end, float(WINDOW_S), n1 - n0, f1 - f0, p95, quantiles))
    return out


def level_overload(summary: LoadtestSummary, folder: Path, platform: Any, timeseries: Path, plan: Any,
                   slo: tuple[float, float], seed: int = 0,
                   host: HostRow | None = None) -> tuple[Side, Side]:
    """A validation level's (measured, predicted) verdicts: the load test's (``summary``, its
    ``folder``) and the model's prediction of its planned load on the calibrated ``platform``
    (the model's requests for the replayed minutes, compressed and scaled as the replay is),
    each judged on the whole replay and on the level's busiest window (``plan``: a
    ``LevelPlan``). ``host``: the comparison's host (``Prediction.at_achieved.host``: the
    api tier's cores and the other work measured beside it per 10-s bin), with which the
    prediction serves the api beside that work, as the comparison at the achieved load does."""
    from sim.tiers.replay import HostShare, predict

    if summary.stretch_first_minute is None:
        raise CalibrationError(f"{folder}: its summary.json does not say the replay's first minute")
    compress = float(summary.compress)
    minute_s = 60.0 / compress
    minutes = max(1, int(round(float(summary.duration_s) / minute_s)))
    endpoints = [e.name for e in platform.platform.endpoints]
    rates = model_rates(timeseries, summary.stretch_first_minute, minutes, endpoints, float(summary.scale),
                        compress)
    timeout = float(platform.behaviour.overload.abandon_after_s)
    share = None
    if host is not None and host.background_cores:
        per_10s = np.asarray(host.background_cores, float)  # per 10-s bin -> per model minute
        at = np.clip((np.arange(rates.shape[1]) * minute_s // 10.0).astype(int), 0, per_10s.size - 1)
        share = HostShare(tier=host.tier, cores=float(host.cores), background=per_10s[at])
    prediction = predict(platform, rates, minute_s, np.random.default_rng(seed), timeout, share)
    start, seconds = float(plan.busiest_start_s), float(plan.window_s)
    model = predicted(prediction, start, seconds, slo, timeout)
    test = measured(summary.total, folder, float(summary.set_up_s), start, seconds,
                    float(plan.busiest_rps) * seconds, slo)
    return test, model


def level_record(summary: LoadtestSummary, folder: Path, platform_path: Path, timeseries: Path, plan: Any,
                 slo: tuple[float, float], host: HostRow | None = None) -> Any:
    """``level_overload`` for the platform file ``platform_path``, as a level's record
    (``calibrate.level_records.Overload``)."""
    from calibrate.level_records import Overload
    from domain.scenario import load_scenario

    test, model = level_overload(summary, folder, load_scenario(platform_path), timeseries, plan, slo,
                                 host=host)
    return Overload(predicted=model.overloaded, measured=test.overloaded, predicted_why=model.why,
                    measured_why=test.why)
