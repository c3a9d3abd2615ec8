"""``summary.json`` of an open-workload run (``yanxiu run`` on a ``workload:`` scenario)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from records.base import Number, Part, Record


class Estimate(Part):
    """A measured figure's mean over replications beside its queueing-theory value."""

    mean: Number
    ci95: list[Number]
    theory: Number | None
    relative_error: Number | None
    theory_in_ci95: bool | None


class WorkloadSummary(Record):
    kind: Literal["workload"] = "workload"
    scenario: str
    scenario_path: str | None = None
    seed: int
    endpoint: str  # the endpoint, or the endpoints joined by "+"
    rate_per_s: Number  # in total
    rates_per_s: dict[str, Number] = {}  # per endpoint
    service: dict[str, Any] = {}  # per pool tier: its service-time shape
    replications: int
    tiers: dict[str, dict[str, Estimate]] = Field(min_length=1)
    metrics: dict[str, Number | None] = {}
