from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class CertificateOut(BaseModel):
    serial: str
    campaign: str
    teacher_id: int
    real_name: str
    id_number_masked: str
    credited_hours: float
    issued_at: dt.datetime
