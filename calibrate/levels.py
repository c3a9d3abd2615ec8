"""What a validation level means: the replay's busiest window runs at that share of the knee's rate.

The knee's rate (``calibrate.knee.judge``) is the requests per second the load generator finished
in the knee step's judged windows (a hold's last ``JUDGED_WINDOWS`` 10-s windows: 40 s, all
endpoints, failures included: Locust's "Aggregated" count). A validation replays a stretch (the
peak hour at compress 36) whose rate is not flat, so a level given as a share of the knee's
*scale* says nothing about the load at its busiest: the peak hour's busiest 40 s plan 1.18x
the rate per unit of scale of the minutes the hold judged (19:12-20:48 at compress 144; smoke
model of 2026-11-30 19:16), and the 17:58 bench's "85%" replays ran 400-458 req/s against a
440-req/s knee. Here a level L is the scale at
which the validation plan's busiest window of the knee's judged length plans L x the knee's
rate, counted as the knee's is: every endpoint's planned requests (``loadtests.requests``:
the model's ``rps.<endpoint>`` x scale x compress, per bin of test time).

Where the knee was judged on this replay's own busiest window at its compression (a hold since
2026-11-30 22:40: ``calibrate.holds``), the knee's load and a level's are the same load at two
scales, and a level L is L x the knee's scale (``LevelPlan.by_knee_scale``): its busiest window
then plans L x what the knee's judged windows planned, and runs L x what they ran as far as the
replay runs its plan alike at both (the smoke replays run 1.05x their plan: tests 1.10-1.26x,
heartbeats 1.08x; by the knee's measured rate a level would carry that excess twice).

The endpoint mixes are compared too (the shares of the planned requests in the knee's judged
minutes against the validation's busiest window): a knee judged on another mix is another
knee, and a material difference says the knee should be judged on the validated minutes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibrate.errors import CalibrationError
from calibrate.knee import JUDGED_WINDOWS, RESOLUTION
from calibrate.level_records import LevelPlan
from calibrate.steps import WINDOW_S
from loadtests.plan import Series
from loadtests.requests import model_rates, planned_per_bin
from loadtests.stretch import select

STEP_S = 1.0  # the busiest window is searched in steps of this many seconds of test time
# Two mixes differ materially when their total-variation distance (half the sum of the shares'
# absolute differences: the share of requests that would have to change endpoint) is above this
MATERIAL = 0.05


@dataclass(frozen=True)
class Window:
    """Planned requests per endpoint in ``seconds`` of test time from ``start_s``."""

    start_s: float
    seconds: float
    requests: dict[str, float]

    @property
    def rate_rps(self) -> float:
        return sum(self.requests.values()) / self.seconds if self.seconds else 0.0


def busiest(rates: np.ndarray, endpoints: list[str], minute_s: float, window_s: float,
            step_s: float = STEP_S) -> Window:
    """The ``window_s`` of test time (starting on a multiple of ``step_s``) in which the plan
    puts the most requests of all endpoints; ``rates`` is (endpoints x minutes) req/s of test
    time per model minute (``loadtests.requests.model_rates``). A plan shorter than the window:
    the whole plan."""
    duration = rates.shape[1] * minute_s
    if window_s >= duration - 1e-9:
        return _window(rates, endpoints, minute_s, 0.0, duration)
    edges = np.arange(0.0, duration + 1e-9, step_s)
    per_step = planned_per_bin(rates, minute_s, edges).sum(axis=0)
    width = int(round(window_s / step_s))
    sums = np.convolve(per_step, np.ones(width), mode="valid")
    start = float(edges[int(np.argmax(sums))])
    return _window(rates, endpoints, minute_s, start, window_s)


def last(rates: np.ndarray, endpoints: list[str], minute_s: float, window_s: float) -> Window:
    """The plan's last ``window_s`` (a hold's judged windows are its last ones)."""
    duration = rates.shape[1] * minute_s
    start = max(0.0, duration - window_s)
    return _window(rates, endpoints, minute_s, start, duration - start)


def _window(rates: np.ndarray, endpoints: list[str], minute_s: float, start: float, seconds: float) -> Window:
    planned = planned_per_bin(rates, minute_s, np.array([start, start + seconds]))[:, 0]
    return Window(start, seconds, {e: float(n) for e, n in zip(endpoints, planned, strict=True)})


def shares(requests: dict[str, float]) -> dict[str, float]:
    """Each endpoint's share of the requests (all zero when there are none)."""
    total = sum(requests.values())
    return {e: (n / total if total > 0 else 0.0) for e, n in requests.items()}


def mix_distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Total-variation distance between two mixes (shares): 0 the same, 1 disjoint."""
    return 0.5 * sum(abs(a.get(e, 0.0) - b.get(e, 0.0)) for e in set(a) | set(b))


def level_scale(level: float, knee_rps: float, busiest_rps_per_scale: float) -> float:
    """The scale at which the busiest window plans ``level`` x the knee's rate (rates are
    proportional to the scale)."""
    if not knee_rps > 0 or not busiest_rps_per_scale > 0:
        raise CalibrationError(f"a level needs a positive knee rate and plan (got {knee_rps}, "
                               f"{busiest_rps_per_scale} req/s per unit of scale)")
    return level * knee_rps / busiest_rps_per_scale


@dataclass(frozen=True)
class Knee:
    """The calibration's knee as its provenance (``calibration.json``) records it: the rate,
    the step's scale, and the minutes its judged windows replayed."""

    rate_rps: float
    scale: float
    step: str
    stretch: str  # the step's replayed minutes (a hold's own stretch)
    compress: float
    seconds: float  # the step's replay
    judged_s: float  # its judged windows, the last ones
    # its bracket (``calibrate.knee.Knee``, since 2026-12-01): the lowest rate above it that broke
    # the SLO, and whether a hold did (False: the knee is a lower bound); None: not recorded
    upper_rps: float | None = None
    bounded: bool | None = None
    # the bracket's width by plan (``calibrate.knee.Knee.width``, since 2026-12-01 05:00); None: an
    # older record, whose width is the finished rates' (a hold past the knee finishes less than
    # it was offered, so that width is too narrow)
    width: float | None = None
    upper_planned_rps: float | None = None

    @property
    def ratio(self) -> float | None:
        """The bracket's width: by plan when recorded, else by the rates finished."""
        if self.width is not None:
            return self.width
        return self.upper_rps / self.rate_rps if self.upper_rps is not None and self.rate_rps else None

    @property
    def exact(self) -> bool:
        """Bounded by a hold within ``RESOLUTION`` above it (or an older record: taken as it is)."""
        if self.bounded is None:
            return True
        ratio = self.ratio
        return bool(self.bounded and ratio is not None and ratio <= RESOLUTION * (1.0 + 1e-9))

    def for_level(self, level: float) -> tuple[float, bool]:
        """The knee's scale a level is planned from, and whether it is the bracket's upper end:
        a knee that is not exact (a lower bound, or a bracket wider than ``RESOLUTION``) puts the
        levels above it at their share of the lowest rate that broke the SLO, those at or below
        it at their share of the knee (the bracket's two ends: each level on the safe side)."""
        ratio = self.ratio
        if level > 1.0 and not self.exact and ratio is not None and ratio > 1.0:
            return self.scale * ratio, True
        return self.scale, False


def knee_from(provenance: dict[str, Any] | None, path: Path) -> Knee:
    """The knee of a calibration's provenance; CalibrationError (one line) when there is none."""
    if not provenance:
        raise CalibrationError(f"{path.with_suffix('.json')}: missing: not a calibration's platform file")
    knee = provenance.get("knee") or {}
    step = next((s for s in provenance.get("step_results") or [] if s.get("name") == knee.get("step")), None)
    if knee.get("rate_rps") is None or step is None:
        why = knee.get("note") or "no step met the SLO"
        raise CalibrationError(f"{path}: its calibration found no knee ({why})")
    hold = step.get("settle_s") is not None
    # a step's own compression (a hold's since 2026-11-30 22:40), else the calibration's
    compress = float(step.get("compress") or provenance["compress"])
    upper = knee.get("upper_rps")
    return Knee(float(knee["rate_rps"]), float(step["scale"]), str(step["name"]),
                str(step.get("stretch") or provenance["stretch"]), compress,
                float(step["seconds"]), float((JUDGED_WINDOWS if hold else 1) * WINDOW_S),
                float(upper) if upper is not None else None,
                bool(knee["bounded"]) if "bounded" in knee else None,
                _number(knee.get("width")), _number(knee.get("upper_planned_rps")))


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def stretch_rates(series: Series, timeseries: Path, spec: str, endpoints: list[str], scale: float,
                  compress: float, seconds: float | None = None) -> np.ndarray:
    """(endpoints x minutes) planned req/s of test time of the stretch ``spec`` (its first
    ``seconds`` of replay when given, as ``loadtests.options.build_context`` cuts a step)."""
    stretch = select(series, spec)
    minutes = stretch.stop - stretch.start
    if seconds is not None:
        minutes = min(minutes, max(1, int(seconds / (60.0 / compress))))
    first = series.minutes[stretch.start].isoformat()
    return model_rates(timeseries, first, minutes, endpoints, scale, compress)


def same_window(series: Series, a: tuple[str, float, Window], b: tuple[str, float, Window]) -> bool:
    """Whether two windows, each (stretch, compress, window in its replay's test time), replay
    the same minutes at the same compression: equal lengths, starts within one model minute."""
    (spec_a, compress_a, window_a), (spec_b, compress_b, window_b) = a, b
    if compress_a != compress_b or abs(window_a.seconds - window_b.seconds) > 1e-6:
        return False
    start_a = _first(series, spec_a) + dt.timedelta(seconds=window_a.start_s * compress_a)
    start_b = _first(series, spec_b) + dt.timedelta(seconds=window_b.start_s * compress_b)
    return abs((start_a - start_b).total_seconds()) <= 60.0 + 1e-6


def _first(series: Series, spec: str) -> dt.datetime:
    return series.minutes[select(series, spec).start]


def plan_level(level: float, knee: Knee, series: Series, timeseries: Path, endpoints: list[str],
               stretch: str, compress: float, seconds: float | None = None) -> LevelPlan:
    """The scale of the validation replay of ``stretch`` at ``compress`` whose busiest window of
    the knee's judged length plans ``level`` x the knee's rate; with the two mixes."""
    unit = stretch_rates(series, timeseries, stretch, endpoints, 1.0, compress, seconds)
    minute_s = 60.0 / compress
    peak = busiest(unit, endpoints, minute_s, knee.judged_s)
    held = stretch_rates(series, timeseries, knee.stretch, endpoints, knee.scale, knee.compress, knee.seconds)
    judged = last(held, endpoints, 60.0 / knee.compress, knee.judged_s)
    same = same_window(series, (stretch, compress, peak), (knee.stretch, knee.compress, judged))
    knee_scale, upper = knee.for_level(level)
    knee_rps = knee.rate_rps * knee_scale / knee.scale
    scale = level * knee_scale if same else level_scale(level, knee_rps, peak.rate_rps)
    peak_mix, knee_mix = shares(peak.requests), shares(judged.requests)
    distance = mix_distance(peak_mix, knee_mix)
    return LevelPlan(
        level=level, scale=scale, scale_by_knee_scale=knee.scale * level * knee.compress / compress,
        by_knee_scale=same, knee_compress=knee.compress,
        compress=compress, knee_rps=knee.rate_rps, knee_scale=knee.scale, knee_step=knee.step,
        knee_planned_rps=judged.rate_rps, window_s=knee.judged_s, busiest_start_s=peak.start_s,
        busiest_rps=peak.rate_rps * scale, mean_rps=float(unit.sum(axis=0).mean()) * scale,
        busiest_mix=peak_mix, knee_mix=knee_mix, mix_distance=distance, mix_differs=distance > MATERIAL,
        from_upper=upper, knee_upper_rps=knee.upper_rps, knee_bounded=knee.bounded)
