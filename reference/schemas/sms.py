from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from reference.schemas.common import Body, Mobile


class SmsSend(Body):
    mobile: Mobile
    purpose: Literal["register", "login", "reset"]


class SmsSent(BaseModel):
    sent: bool
    retry_after_s: int
