"""What-if capacities: ``yanxiu run --capacity api=60,database=20`` runs the model with some
tiers resized (pool tiers: servers; bandwidth tiers: Gbps), the rest of the scenario as written.
An under-provisioned platform is where the overload reactions (``behaviour.overload``:
abandonment, retries, SMS resends, teachers coming back hours later) are exercised."""

from __future__ import annotations

import math

from domain.scenario import Scenario


class CapacityError(ValueError):
    """A --capacity text that does not name the scenario's tiers with positive sizes."""


def parse_capacity(text: str, scenario: Scenario) -> dict[str, float]:
    """``api=60,database=20`` -> {"api": 60, "database": 20}, checked against the tiers."""
    tiers = {t.name: t for t in scenario.platform.tiers}
    sizes: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CapacityError(f"--capacity: {part!r} is not TIER=SIZE (e.g. api=60,database=20)")
        if name not in tiers:
            raise CapacityError(f"--capacity: no tier {name!r} in the scenario")
        try:
            size = float(value)
        except ValueError:
            raise CapacityError(f"--capacity {name}: {value.strip()!r} is not a number") from None
        if not math.isfinite(size) or size <= 0:
            raise CapacityError(f"--capacity {name}: the size must be a positive number, got {value.strip()}")
        if tiers[name].kind == "pool" and size != int(size):
            raise CapacityError(f"--capacity {name}: a pool tier has a whole number of servers, got {size:g}")
        sizes[name] = size
    return sizes


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
