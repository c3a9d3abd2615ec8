"""The reference app for the fault campaign: the same app, its SMS gateway switchable off.

``uvicorn bench.fault_app:create_app --factory`` with the ``YANXIU_*`` settings; while the
file named by ``FAULT_SMS_FLAG`` exists, every text fails as a vendor outage would
(``SmsGatewayError``), in every worker at once. Nothing else differs from ``yanxiu serve``'s app.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session

from reference.main import create_app as reference_app
from reference.services.sms import SmsGateway, SmsGatewayError


class SwitchedGateway:
    def __init__(self, inner: SmsGateway, flag: Path) -> None:
        self.inner, self.flag = inner, flag

    def send(self, session: Session, mobile: str, text: str, now: dt.datetime) -> None:
        if self.flag.exists():
            raise SmsGatewayError("gateway down (fault campaign)")
        self.inner.send(session, mobile, text, now)


def create_app() -> FastAPI:
    app = reference_app()
    state = app.state.yanxiu
    state.sms_gateway = SwitchedGateway(state.sms_gateway, Path(os.environ["FAULT_SMS_FLAG"]))
    return app
