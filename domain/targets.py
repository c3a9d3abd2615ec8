"""Targets files: the public figures a campaign model can be held to.

A target names a model *metric* (the vocabulary is ``METRICS`` below; ``fit.metrics`` computes
each from a run), the published figure, its source (document and where in it), its uncertainty
and how the figure relates to the model:

- ``match``: the model should reproduce the figure within its uncertainty;
- ``upper`` / ``lower``: the figure bounds the model's value from above / below (e.g. a total
  over several campaigns bounds one campaign from above); ``why`` says why it is a bound;
- ``use: fit`` targets steer ``yanxiu fit``; ``use: check`` targets are compared after the fit
  and reported (figures that are scenario *inputs*, such as the workforce, or that no behaviour
  parameter can move); ``use: context`` figures have no model counterpart and are listed only.

A bad file raises ``TargetsError`` whose message names the file and field path, in one line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# metric -> what it is (the model side is computed in fit.metrics; a test keeps both in step)
METRICS: dict[str, str] = {
    "participants": "teachers who studied at least once in the window (full scale)",
    "completion_share": "share of participants who completed the campaign",
    "page_views": "page requests over the window (every request but heartbeats and SMS sends)",
    "mean_daily_page_views": "page views per window day, on average",
    "peak_day_page_views": "page views on the busiest window day",
    "peak_day_ratio": "page views on the busiest window day over the window's daily average",
    "sessions_per_participant": "study sessions per participant",
    "mean_session_minutes": "mean length of a study session, minutes (Little's law: time / count)",
    "app_share": "share of participants (hence of their page views) using the app",
    "teachers": "teachers in the population",
    "teachers.basic": "teachers of the basic-education sub-platform",
    "teachers.higher": "teachers of the higher-education sub-platform",
    "teachers.vocational": "teachers of the vocational sub-platform",
}


class TargetsError(ValueError):
    """A targets file that cannot be used; str() is the one-line message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    document: str = Field(min_length=1)
    where: str = Field(min_length=1)  # section, paragraph or quote location
    quote: str = ""


class Uncertainty(_Strict):
    """Either a relative half-width (``relative: 0.02`` = +-2%) or an absolute interval."""

    relative: float | None = Field(default=None, gt=0)
    low: float | None = Field(default=None, ge=0)
    high: float | None = Field(default=None, ge=0)
    note: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Uncertainty:
        interval = self.low is not None or self.high is not None
        if (self.relative is not None) == interval:
            raise ValueError("give either relative or low/high")
        if interval and (self.low is None or self.high is None):
            raise ValueError("an interval needs both low and high")
        if interval and self.high < self.low:  # type: ignore[operator]
            raise ValueError(f"high {self.high} is below low {self.low}")
        return self


class Target(_Strict):
    name: str = Field(min_length=1)
    metric: str
    value: float = Field(ge=0)
    unit: str = ""
    relation: Literal["match", "upper", "lower", "context"]
    use: Literal["fit", "check", "context"] = "fit"
    uncertainty: Uncertainty | None = None
    why: str = Field(min_length=1)
    source: Source

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.relation != "context" and self.metric not in METRICS:
            raise ValueError(f"@metric: unknown metric {self.metric!r}")
        if self.relation == "match" and self.uncertainty is None:
            raise ValueError("@uncertainty: a match target needs its uncertainty")
        if (self.relation == "context") != (self.use == "context"):
            raise ValueError("@use: context figures (and only they) have use: context")
        if not math.isfinite(self.value):
            raise ValueError("@value: not a finite number")
        return self

    def interval(self) -> tuple[float, float]:
        """Values of the metric that agree with this target (bounds: one side open)."""
        lo, hi = self._band()
        if self.relation == "upper":
            return 0.0, hi
        if self.relation == "lower":
            return lo, math.inf
        return lo, hi

    def _band(self) -> tuple[float, float]:
        u = self.uncertainty
        if u is None:
            return self.value, self.value
        if u.relative is not None:
            return self.value * (1 - u.relative), self.value * (1 + u.relative)
        return float(u.low), float(u.high)  # type: ignore[arg-type]

    def distance(self, model_value: float) -> float:
        """0 inside the agreeing interval; outside, the miss in units of the band's half-width
        (log scale, so a factor-2 miss of a tight and of a loose target compare fairly)."""
        lo, hi = self.interval()
        if lo <= model_value <= hi:
            return 0.0
        if model_value <= 0:
            return math.inf
        band_lo, band_hi = self._band()
        half = max(math.log(band_hi / band_lo) / 2, 0.01) if band_lo > 0 else 0.01
        edge = lo if model_value < lo else hi
        return abs(math.log(model_value / edge)) / half


class Targets(_Strict):
    campaign: str = Field(min_length=1)
    description: str = ""
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_contradictions(self) -> Targets:
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("@targets: duplicate target names")
        by_metric: dict[str, list[tuple[int, Target]]] = {}
        for i, t in enumerate(self.targets):
            if t.relation != "context":
                by_metric.setdefault(t.metric, []).append((i, t))
        for metric, group in by_metric.items():
            lo = max(t.interval()[0] for _, t in group)
            hi = min(t.interval()[1] for _, t in group)
            if lo > hi:
                where = ", ".join(f"targets[{i}]" for i, _ in group)
                raise ValueError(f"@targets: contradictory targets for {metric!r} ({where}): no "
                                 f"value lies in all of them ({lo:g} > {hi:g})")
        return self

    def used(self, use: str) -> list[Target]:
        return [t for t in self.targets if t.use == use]


def _format_error(error: Any) -> str:
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error["loc"])
    path = path.replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith("@"):
        field, message = message[1:].split(": ", 1)
        path = field if field.startswith("targets") else f"{path}.{field}" if path else field
    elif error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "missing field"
    elif error["type"] == "greater_than_equal" and error.get("input", 0) < 0:
        message = f"negative figure {error['input']!r}"
    return f"{path or '<top>'}: {message}"


def parse_targets(data: object, source: str = "<targets>") -> Targets:
    if not isinstance(data, dict):
        raise TargetsError(f"{source}: <top>: expected a mapping with 'campaign' and 'targets'")
    try:
        return Targets.model_validate(data)
    except ValidationError as exc:
        raise TargetsError(f"{source}: {_format_error(exc.errors()[0])}") from None


def load_targets(path: str | Path) -> Targets:
    from domain.scenario import ScenarioError, read_document  # one YAML reader for every input

    try:
        data = read_document(path)
    except ScenarioError as exc:
        raise TargetsError(str(exc)) from None
    return parse_targets(data, str(path))
