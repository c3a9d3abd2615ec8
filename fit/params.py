"""The free behaviour parameters of a fit, their prior ranges and how each is written into a
scenario.

Every parameter has a uniform prior on [low, high] (on the log scale for ``log`` ones: a
scale parameter whose order of magnitude is unknown). The ranges are stated here, with why;
they are the only judgement in a fit. Values enter the scenario through ``apply``, which works
on the scenario's plain data and validates the result, so a fitted scenario passes every check
a hand-written one does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.scenario import Scenario

Data = dict[str, Any]


@dataclass(frozen=True)
class Parameter:
    name: str
    low: float
    high: float
    log: bool
    why: str  # where the prior range comes from
    write: Callable[[Data, float], None]

    def to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))


def _lognormal(median: float, sigma: float) -> dict[str, Any]:
    mean = median * math.exp(sigma**2 / 2)
    return {"kind": "lognormal", "mean": mean, "sd": mean * math.sqrt(math.expm1(sigma**2))}


def _start_median(d: Data, v: float) -> None:
    sigma = d["behaviour"].get("_start_sigma", 1.0)
    d["behaviour"]["_start_median"] = v
    d["behaviour"]["start_delay_days"] = _lognormal(v, sigma)


def _start_sigma(d: Data, v: float) -> None:
    median = d["behaviour"].get("_start_median", 9.0)
    d["behaviour"]["_start_sigma"] = v
    d["behaviour"]["start_delay_days"] = _lognormal(median, v)


def _gap(d: Data, v: float) -> None:
    d["behaviour"]["sessions"]["gap_hours"] = {"kind": "exponential", "mean": v}


def _length(d: Data, v: float) -> None:
    old = d["behaviour"]["sessions"]["length_minutes"]
    cv = old.get("sd", 0.0) / old["mean"] if old.get("kind") == "lognormal" else 22 / 38
    d["behaviour"]["sessions"]["length_minutes"] = {"kind": "lognormal", "mean": v, "sd": v * cv}


def _set(*path: str) -> Callable[[Data, float], None]:
    def write(d: Data, v: float) -> None:
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = v
    return write


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("start_delay_median_days", 1.0, 60.0, True,
              "procrastination: from starting at once to two months (the window is 89 days)",
              _start_median),
    Parameter("start_delay_sigma", 0.3, 3.0, False,
              "log-sd of the start delay: from nearly all alike to a tail past the window",
              _start_sigma),
    Parameter("gap_hours_mean", 8.0, 240.0, True,
              "mean operational hours between a teacher's sessions: a few a day to one in ten days",
              _gap),
    Parameter("session_minutes_mean", 10.0, 90.0, True,
              "mean session length: one short video to two credit hours at a sitting", _length),
    Parameter("opening_boost", 1.0, 6.0, False,
              "activity just after a course opens, relative to later (1 = none)",
              _set("behaviour", "opening_boost")),
    Parameter("opening_decay_days", 0.5, 20.0, True, "how fast the opening boost fades",
              _set("behaviour", "opening_decay_days")),
    Parameter("wave_scale", 0.1, 1.8, False,
              "multiplies every mobilisation wave's share (capped at 1): pushes half as strong to "
              "almost twice as strong as estimated", _set("behaviour", "wave_scale")),
    Parameter("dropout", 0.0, 0.4, False, "share who start but stop before completing",
              _set("behaviour", "dropout")),
    Parameter("deadline_rush_factor", 1.0, 6.0, False,
              "activity in the last days before the deadline, relative to before",
              _set("behaviour", "deadline_rush", "factor")),
    Parameter("returning_share", 0.5, 0.95, False,
              "bounded unknown: most of 13.72 M took part in summer 2022 (13 M+), no figure says how "
              "many", _set("population", "returning_share")),
    Parameter("heartbeat_basic_s", 20.0, 600.0, True,
              "bounded unknown: the basic client's progress interval; 600 s read from unofficial "
              "client scripts, 20 s as on the other two sub-platforms; no public figure moves it",
              _set("platform", "heartbeat_interval_s", "basic")),
)
BY_NAME = {p.name: p for p in PARAMETERS}
PRIVATE = ("_start_median", "_start_sigma")


def emergent_data(scenario: Scenario) -> Data:
    """The scenario as plain data with participation turned into an outcome."""
    data = scenario.model_dump(mode="json", by_alias=True)
    data["behaviour"]["participation"] = "emergent"
    data["population"]["participation"] = None
    data["behaviour_file"] = None
    return data


def fit_data(scenario: Scenario) -> Data:
    """``emergent_data`` for fit runs: no target looks past the window, so certificates issued
    at its end shorten every run's horizon (sim.model.horizon_s), changing nothing before it."""
    data = emergent_data(scenario)
    data["rules"]["certificates_issued"] = data["calendar"]["end"]
    return data


def apply(base: Data, names: list[str], values: np.ndarray | list[float]) -> Scenario:
    """The scenario ``base`` with the named parameters set (validated like any scenario)."""
    import copy

    data = copy.deepcopy(base)
    for name, value in sorted(zip(names, values, strict=True), key=lambda nv: nv[0]):
        BY_NAME[name].write(data, float(value))
    for key in PRIVATE:
        data["behaviour"].pop(key, None)
    return Scenario.model_validate(data)


def overrides(base: Data, names: list[str], values: list[float]) -> dict[str, Any]:
    """The sections of a behaviour file that set these values: only what differs from base."""
    scenario = apply(base, names, values).model_dump(mode="json", by_alias=True)
    out: dict[str, Any] = {"behaviour": {}, "platform": {}, "population": {}}
    for section in out:
        for key, value in scenario[section].items():
            if value != base[section].get(key) or (section == "behaviour" and key == "participation"):
                out[section][key] = value
    out["population"]["participation"] = None
    return {k: v for k, v in out.items() if v}
