"""The scenario schema's shared field types: shares, durations, dates, sub-platforms, and the
strict base model every section derives from (domain.scenario, domain.platform_spec)."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

SubPlatform = Literal["basic", "higher", "vocational"]
SUB_PLATFORMS: tuple[SubPlatform, ...] = ("basic", "higher", "vocational")
Device = Literal["app", "web"]
SHARE_TOLERANCE = 1e-6


class ScenarioError(ValueError):
    """A scenario file that cannot be used; str() is the one-line message."""


def _parse_duration(value: object) -> object:
    """Accept seconds (number) or 'MM:SS' / 'HH:MM:SS' as the seeds print them."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+(:\d{1,2}){1,2}", value.strip()):
        sign = -1 if value.strip().startswith("-") else 1
        seconds = 0
        for part in value.strip().lstrip("-").split(":"):
            seconds = seconds * 60 + int(part)
        return sign * seconds
    return value


def _non_negative(value: float) -> float:
    if value < 0:
        raise ValueError(f"negative duration {value}")
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), AfterValidator(_non_negative)]


def _not_a_number(value: object) -> object:
    """Pydantic reads a bare number as seconds since 1970; in a scenario it is always a slip."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"expected a date such as 2023-01-03, got the number {value!r}")
    return value


Day = Annotated[dt.date, BeforeValidator(_not_a_number)]
Moment = Annotated[dt.datetime, BeforeValidator(_not_a_number)]
Share = Annotated[float, Field(ge=0, le=1)]


def check_shares(shares: dict[str, float]) -> dict[str, float]:
    total = sum(shares.values())
    if not math.isclose(total, 1.0, abs_tol=SHARE_TOLERANCE):
        raise ValueError(f"shares must sum to 1 (got {total:g})")
    return shares


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
