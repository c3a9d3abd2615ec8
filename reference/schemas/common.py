"""Field types shared by the request bodies; each refuses bad input with a message naming it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SubPlatform = Literal["basic", "higher", "vocational"]
# the shape FastAPI takes for a route's documented error answers
Responses = dict[int | str, dict[str, Any]]
# Mainland mobile numbers: 11 digits, 1 then 3-9.
Mobile = Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")]
Code = Annotated[str, StringConstraints(pattern=r"^\d{4,8}$")]
Password = Annotated[
    str, StringConstraints(min_length=8, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# Printable text: no control characters (PostgreSQL refuses NUL), no surrounding blanks.
Name = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=50, strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Keyword = Annotated[str, StringConstraints(max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
# A campaign's name as the scenario spells it (the platform's campaigns, reference.catalogue).
CampaignName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")]


class Body(BaseModel):
    """Request bodies: unknown fields, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Problem(BaseModel):
    """An error answer."""

    detail: str


class RateLimited(Problem):
    retry_after_s: int
