"""The model's own knee: the rate at which the calibrated platform's prediction of a hold's load
is overloaded, beside the measured knee (issue 12).

The measured knee is the highest hold (``calibrate.holds``: the validation's busiest minutes at
its compression, the minutes before them) whose judged windows met the SLO; the overload bar at
110% asks whether the model and the target agree about where that is. Here the model's
prediction of the same load (``sim.tiers.replay.predict``: the model's requests for those
minutes at a scale, served on the calibrated platform from an empty system) is judged as a hold
is (``calibrate.knee.sustained`` on its judged windows: a p95 over the SLO beyond one window, errors
or timeouts, a queue still filling), and also broken where a tier saturates (utilisation 1)
or the judged part finished ``knee.SHORT`` fewer requests than arrived. The scale is
bisected (geometrically, within ``TOLERANCE``) from the measured knee's, up or down by
``STEP`` until bracketed. Its rate is the plan's in the judged windows at that scale (the
requests the model puts there; the measured knee's is what the target finished, which runs
~1.05x the plan on smoke), and the saturation rate is that of the judged minutes at which the
busiest tier's predicted utilisation reaches 1 (utilisation is proportional to the load).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibrate import overload
from calibrate.holds import HoldLoad
from calibrate.knee import SHORT, sustained
from loadtests.plan import Series
from loadtests.requests import model_rates
from loadtests.stretch import select

STEP = 1.25  # up or down from the measured knee's scale until the prediction is bracketed
TOLERANCE = 0.02  # bisect until the two scales are within this share
MAX_PREDICTIONS = 16


@dataclass(frozen=True)
class ModelKnee:
    scale: float | None  # the highest scale whose prediction was not overloaded (None: not found)
    rate_rps: float | None  # the plan's requests/s in the judged windows at ``scale``
    p95_ms: float | None  # the prediction's judged windows' p95 there, without the worst window (as judged)
    upper_scale: float | None  # the lowest scale predicted overloaded
    upper_why: str  # why it was
    saturation_rps: float | None  # judged-part rate at which the busiest tier's utilisation is 1
    bottleneck: str  # that tier
    predictions: int
    background_cores: float | None = None  # the host's other work beside the api (None: the platform alone)

    def line(self, measured_rps: float | None = None) -> str:
        """The model's knee in words, beside the measured one when given."""
        where = ("" if self.background_cores is None
                 else f" on this host (beside {self.background_cores:.2f} cores of other work)")
        if self.rate_rps is None:
            return f"model's knee{where}: not found ({self.upper_why})"
        text = (f"model's knee{where}: {self.rate_rps:.0f} req/s planned in the judged windows (scale "
                f"{self.scale:.4g}, predicted p95 {self.p95_ms:.0f} ms without the worst 10 s); above it "
                f"(scale {self.upper_scale:.4g}): {self.upper_why}")
        if self.saturation_rps is not None:
            text += f"; {self.bottleneck} saturates at {self.saturation_rps:.0f} req/s"
        if measured_rps:
            ratio = measured_rps / self.rate_rps
            text += f"; the measured knee {measured_rps:.0f} req/s is {ratio:.2f}x the model's"
        return text


def load_of(series: Series, timeseries: Path, endpoints: list[str], stretch: str, compress: float,
            judged_s: float) -> HoldLoad:
    """The hold load a knee was judged on: its ``stretch`` (the hold's replayed minutes) at
    ``compress``, its last ``judged_s`` judged."""
    chosen = select(series, stretch)
    minutes = max(1, int(math.ceil(judged_s / (60.0 / compress) - 1e-9)))
    first = max(chosen.start, chosen.stop - minutes)
    unit = model_rates(timeseries, series.minutes[first].isoformat(), chosen.stop - first, endpoints, 1.0,
                       compress)
    return HoldLoad(series, chosen.start, first, chosen.stop, compress, float(unit.sum(axis=0).mean()))


def _rates(load: HoldLoad, timeseries: Path, endpoints: list[str], scale: float, first: int) -> np.ndarray:
    return model_rates(timeseries, load.series.minutes[first].isoformat(), load.stop - first, endpoints,
                       scale, load.compress)


def judge_prediction(prediction: Any, load: HoldLoad, slo: tuple[float, float],
                     timeout_s: float) -> tuple[bool, str, float | None]:
    """Whether the prediction of a hold's replay is overloaded in its judged windows, why, and
    their p95 (the rule a hold is judged by, and a tier's saturation, and a short throughput)."""
    start = (load.first_judged - load.start) * load.minute_s
    arrival, response = getattr(prediction, "arrival_s", None), getattr(prediction, "response_s", None)
    if arrival is None or response is None:  # an older prediction: its whole figures only
        side = overload.predicted(prediction, start, load.judged_s, slo, timeout_s)
        return side.overloaded, side.why, side.p95_ms
    windows = overload.prediction_windows(arrival, response, overload.window_edges(start, load.judged_s),
                                          timeout_s)
    over = sustained(windows, *slo)
    ratio = overload.prediction_ratio(arrival, response, start, start + load.judged_s)
    saturated = [t for t, u in prediction.utilisation.items() if u >= overload.SATURATED]
    reasons = [over.why] if over.overloaded else []
    if ratio is not None and ratio < 1 - SHORT:
        reasons.append(f"finished {100 * ratio:.0f}% of arrivals")
    if saturated:
        reasons.append(f"{', '.join(saturated)} saturated")
    return bool(reasons), "; ".join(reasons) or over.why, over.sustained_p95_ms


@dataclass(frozen=True)
class Host:
    """The host the api tier's processes share (``sim.tiers.replay.HostShare``): its ``cores``
    and the cores of other work beside them (the load generator, anything else: the knee's hold
    measured it, ``StepRun.background_cores``), taken as constant over the hold."""

    cores: float
    background: float
    tier: str = "api"

    def share(self, bins: int) -> Any:
        from sim.tiers.replay import HostShare

        return HostShare(tier=self.tier, cores=self.cores, background=np.full(bins, self.background))


def model_knee(scenario: Any, timeseries: Path, load: HoldLoad, slo: tuple[float, float], timeout_s: float,
               start_scale: float, seed: int = 0, host: Host | None = None) -> ModelKnee:
    """The model's knee on the hold's load (module docstring), from ``start_scale``; with
    ``host``, the api's workers served beside the host's other work (processor sharing of its
    cores: ``sim.tiers.replay.on_host``), i.e. the knee on this host rather than the platform's own."""
    from sim.tiers.replay import predict

    endpoints = [e.name for e in scenario.platform.endpoints]
    seen: dict[float, tuple[bool, str, float | None]] = {}

    def broken(scale: float) -> bool:
        rates = _rates(load, timeseries, endpoints, scale, load.start)
        share = host.share(rates.shape[1]) if host is not None else None
        prediction = predict(scenario, rates, load.minute_s, np.random.default_rng(seed), timeout_s, share)
        seen[scale] = judge_prediction(prediction, load, slo, timeout_s)
        return seen[scale][0]

    lo, hi = _bracket(broken, start_scale)
    while lo is not None and hi is not None and hi / lo > 1 + TOLERANCE and len(seen) < MAX_PREDICTIONS:
        middle = math.sqrt(lo * hi)
        lo, hi = (lo, middle) if broken(middle) else (middle, hi)
    beside = host.background if host is not None else None
    if lo is None:
        return ModelKnee(None, None, None, hi, seen[hi][1] if hi in seen else "", None, "", len(seen), beside)
    saturation, tier = _saturation(scenario, load, timeseries, endpoints, lo, timeout_s, seed)
    why = seen[hi][1] if hi in seen else "no scale broke"
    return ModelKnee(lo, load.rps_per_scale * lo, seen[lo][2], hi, why, saturation, tier, len(seen), beside)


def _bracket(broken: Any, scale: float) -> tuple[float | None, float | None]:
    """(a scale not overloaded, one above it that is), stepping by ``STEP`` from ``scale``."""
    if broken(scale):
        hi = scale
        for _ in range(6):
            scale /= STEP
            if not broken(scale):
                return scale, hi
            hi = scale
        return None, hi
    for _ in range(8):
        lo, scale = scale, scale * STEP
        if broken(scale):
            return lo, scale
    return scale, None


def _saturation(scenario: Any, load: HoldLoad, timeseries: Path, endpoints: list[str], scale: float,
                timeout_s: float, seed: int) -> tuple[float | None, str]:
    """The judged minutes' planned rate at which the busiest tier's predicted utilisation is 1,
    from a prediction of the judged minutes alone at ``scale``."""
    from sim.tiers.replay import predict

    rates = _rates(load, timeseries, endpoints, scale, load.first_judged)
    prediction = predict(scenario, rates, load.minute_s, np.random.default_rng(seed), timeout_s)
    tier, busy = max(prediction.utilisation.items(), key=lambda item: item[1], default=("", 0.0))
    return (load.rps_per_scale * scale / busy, tier) if busy > 0 else (None, tier)
