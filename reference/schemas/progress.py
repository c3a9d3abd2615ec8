from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from reference.schemas.common import Body, CampaignName

# A beat covers at most a day of play; bigger numbers are refused rather than clipped.
MAX_ELAPSED_S = 86_400
MAX_POSITION_S = 7 * 86_400


class Heartbeat(Body):
    resource_id: Annotated[
        str, StringConstraints(min_length=1, max_length=32, pattern=r"^[\w.\-]+$")
    ]
    position_s: Annotated[float, Field(ge=0, le=MAX_POSITION_S)]
    elapsed_s: Annotated[float, Field(ge=0, le=MAX_ELAPSED_S)]
    seq: Annotated[int, Field(ge=0, le=2**31 - 1)]
    # The campaign the play is in, on a server running several (a platform scenario); default:
    # the first campaign that has the resource. Its study counts in the others that accept it.
    campaign: CampaignName | None = None


class HeartbeatResult(BaseModel):
    recorded_s: float
    course_studied_s: float
    resource_watched_s: float
    replay: bool = False
    # The rule that cut the claim (domain.campaign.PlayCredit): wall_time, position, seek,
    # paused, resource_length; null when the claim was credited in full.
    limited_by: str | None = None
