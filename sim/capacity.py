"""What-if capacities: ``yanxiu run --capacity api=60,database=20`` runs the model with some
tiers resized (pool tiers: servers; bandwidth tiers: Gbps), the rest of the scenario as written.
An under-provisioned platform is where the overload reactions (``behaviour.overload``:
abandonment, retries, SMS resends, teachers coming back hours later) are exercised.

A size may also be relative to what the run itself needs (sim.tiers.sizing), measured by a
first run at the scenario's own capacity:

- ``api=80%``: 80% of the plan, the need with the service levels' headroom (utilisation cap);
- ``api=80%min``: 80% of the minimum, the fewest servers that still meet the latency targets
  with no headroom (below it teachers wait past their targets).

A relative size of a pool tier is rounded to the nearest whole server (at least one).

The need is the campaign's only when the first run keeps up: a tier short of its plan there
serves a load swollen by retries, resent codes and teachers coming back, and its need (and
every other tier's) is measured on that. So a tier found short is raised to the plan that run
measured and the need measured again (``short_tiers``), at most ``MAX_BASE_RUNS`` runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from domain.scenario import Scenario
from sim.tiers.sizing import Capacity

_RELATIVE = re.compile(r"^\s*([^%\s]+)\s*%\s*(need|min)?\s*$")
MAX_BASE_RUNS = 4  # one at the scenario's capacity, then raised; a plan that keeps growing is refused
OF = {"need": "its plan (with headroom)", "min": "its minimum (latency targets, no headroom)"}


@dataclass(frozen=True)
class Relative:
    """A size given as a share of the run's own need: ``of`` is "need" (the plan, headroom
    included) or "min" (the minimum meeting the latency targets alone)."""

    percent: float
    of: str = "need"

    def __str__(self) -> str:
        return f"{self.percent:g}%" + ("min" if self.of == "min" else "")


class CapacityError(ValueError):
    """A --capacity text that does not name the scenario's tiers with positive sizes."""


def parse_capacity(text: str, scenario: Scenario) -> dict[str, float | Relative]:
    """``api=60,database=80%min`` -> {"api": 60, "database": Relative(80, "min")}, checked
    against the tiers."""
    tiers = {t.name: t for t in scenario.platform.tiers}
    sizes: dict[str, float | Relative] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CapacityError(f"--capacity: {part!r} is not TIER=SIZE (e.g. api=60,database=80%min)")
        if name not in tiers:
            raise CapacityError(f"--capacity: no tier {name!r} in the scenario")
        if name in sizes:
            raise CapacityError(f"--capacity: tier {name!r} is given twice")
        relative = _RELATIVE.match(value) if "%" in value else None
        if "%" in value and relative is None:
            raise CapacityError(f"--capacity {name}: {value.strip()!r} is not a size: give a number, "
                                "PERCENT% (of its plan) or PERCENT%min (of its minimum)")
        number = _number(name, relative.group(1) if relative else value)
        if relative is not None:
            sizes[name] = Relative(number, relative.group(2) or "need")
            continue
        if tiers[name].kind == "pool" and number != int(number):
            raise CapacityError(f"--capacity {name}: a pool tier has a whole number of servers, "
                                f"got {number:g}")
        sizes[name] = number
    return sizes


def _number(name: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise CapacityError(f"--capacity {name}: {text.strip()!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise CapacityError(f"--capacity {name}: the size must be a positive number, got {text.strip()}")
    return number


def is_relative(sizes: Mapping[str, float | Relative]) -> bool:
    """Whether any size needs the run's own need (a first run at the scenario's capacity)."""
    return any(isinstance(size, Relative) for size in sizes.values())


def resolve(sizes: Mapping[str, float | Relative], needs: Mapping[str, Capacity],
            scenario: Scenario) -> dict[str, float]:
    """Relative sizes turned into servers (Gbps) from ``needs``, the sizing of a run at the
    scenario's capacity (sim.tiers.sizing.size); absolute sizes as given."""
    kinds = {t.name: t.kind for t in scenario.platform.tiers}
    out: dict[str, float] = {}
    for name, size in sizes.items():
        if not isinstance(size, Relative):
            out[name] = size
            continue
        need = needs.get(name)
        if need is None:
            raise CapacityError(f"--capacity {name}={size}: the tier has no service levels, so no need "
                                "to take a share of; give its size")
        base = need.needed if size.of == "need" else need.minimum
        if base is None or not math.isfinite(base):
            raise CapacityError(f"--capacity {name}={size}: its need is unbounded (a latency target below "
                                "the bare service time); give its size")
        if base <= 0:
            raise CapacityError(f"--capacity {name}={size}: the tier carries no load in this run, so "
                                "its need is 0; give its size")
        value = base * size.percent / 100.0
        out[name] = float(max(1, math.floor(value + 0.5))) if kinds[name] == "pool" else value
    return out


def short_tiers(scenario: Scenario, needs: Mapping[str, Capacity]) -> dict[str, float]:
    """Tiers the scenario provides below the plan ``needs`` measured, each raised to that plan
    (pool tiers: whole servers); tiers whose plan is unbounded are left as they are."""
    provided = {t.name: (t.kind, float(t.servers if t.kind == "pool" else t.capacity_gbps))
                for t in scenario.platform.tiers}
    raised: dict[str, float] = {}
    for name, need in needs.items():
        kind, size = provided[name]
        if math.isfinite(need.needed) and need.needed > size:
            raised[name] = float(math.ceil(need.needed)) if kind == "pool" else float(need.needed)
    return raised


def describe(sizes: Mapping[str, float | Relative], resolved: Mapping[str, float],
             needs: Mapping[str, Capacity]) -> list[str]:
    """One line per relative size: what it became and of what (for the run's output)."""
    lines = []
    for name, size in sizes.items():
        if isinstance(size, Relative):
            need = needs[name]
            base = need.needed if size.of == "need" else need.minimum
            unit = "server" if need.unit == "servers" and resolved[name] == 1 else need.unit
            lines.append(f"{name}: {resolved[name]:,.4g} {unit} = {size.percent:g}% of {OF[size.of]} "
                         f"{base:,.4g}")
    return lines


def with_capacity(scenario: Scenario, sizes: dict[str, float]) -> Scenario:
    """The scenario with these tiers resized (nothing else changes)."""
    tiers = []
    for tier in scenario.platform.tiers:
        size = sizes.get(tier.name)
        if size is None:
            tiers.append(tier)
        elif tier.kind == "pool":
            tiers.append(tier.model_copy(update={"servers": int(size)}))
        else:
            tiers.append(tier.model_copy(update={"capacity_gbps": float(size)}))
    platform = scenario.platform.model_copy(update={"tiers": tiers})
    return scenario.model_copy(update={"platform": platform})


def what_if(sizes: Mapping[str, float | Relative], resolved: Mapping[str, float],
            needs: Mapping[str, Capacity], scenario: Scenario,
            measured_at: Mapping[str, float] | None = None) -> dict[str, dict]:
    """summary.json's ``what_if`` (records.model.WhatIf): per resized tier what was asked, the
    size the run had, the scenario's own size, and for a share the need it was taken of."""
    provided = {t.name: float(t.servers if t.kind == "pool" else t.capacity_gbps)
                for t in scenario.platform.tiers}
    out = {}
    for name, size in sizes.items():
        entry: dict = {"asked": str(size) if isinstance(size, Relative) else f"{size:g}",
                       "size": resolved[name], "scenario_size": provided[name]}
        if isinstance(size, Relative):
            need = needs[name]
            entry |= {"share_of": size.of, "base": need.needed if size.of == "need" else need.minimum}
            if measured_at and name in measured_at:
                entry["base_measured_at"] = measured_at[name]
        out[name] = entry
    return out


def run_needs(run) -> dict[str, Capacity]:
    """The sizing of a model run (sim.model.run_model): each tier's plan and minimum, as its
    summary.json ``capacity`` gives them."""
    from sim.tiers.sizing import size

    series = run.recorder.series()
    rps = {name: series[f"rps.{name}"] for name in run.platform.endpoints}
    return size(run.platform, rps, series["egress_gbps"], run.tiers)
