"""SMS verification codes: rate limits, expiry, wrong-entry limit, and the gateway adapter.

Limits (from settings): one code per phone per ``sms_interval_s``, ``sms_daily_cap`` codes per
phone per campaign-local calendar day, a code lives ``sms_ttl_s`` and survives
``sms_max_attempts`` wrong entries. The only gateway is ``RecordingGateway``, which writes the
text to ``sms_messages`` (tests read codes from there); a real one would post to a vendor. A
gateway that fails (``SmsGatewayError``) makes the send a 503 with Retry-After that spends none
of the phone's limits.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reference.clock import Clock
from reference.errors import ApiError
from reference.models import SmsCode, SmsMessage
from reference.settings import Settings

# How long a client is asked to wait when the gateway failed (real seconds). estimate: vendors'
# outages seen are minutes; a few seconds keeps a retry cheap and the code's limits unspent.
GATEWAY_RETRY_S = 5


class SmsGatewayError(Exception):
    """The gateway could not take the text (the vendor down, a timeout): a gateway raises it."""


class SmsGateway(Protocol):
    """Where a verification text goes: a vendor's API in production, a table here. Raises
    ``SmsGatewayError`` when the text could not be handed over."""

    def send(self, session: Session, mobile: str, text: str, now: dt.datetime) -> None: ...


class RecordingGateway:
    """Writes every text to ``sms_messages`` (in the request's transaction) instead of sending it."""

    def send(self, session: Session, mobile: str, text: str, now: dt.datetime) -> None:
        session.add(SmsMessage(mobile=mobile, text=text, sent_at=now))


def _day_start(now: dt.datetime, zone) -> dt.datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def issue_code(
    session: Session,
    settings: Settings,
    zone,
    mobile: str,
    purpose: str,
    clock: Clock,
    gateway: SmsGateway,
) -> str:
    """Store and send a code, whether or not the phone has an account (see the route). Limits
    run on the campaign clock; ``retry_after_s`` is in real seconds (on an accelerated clock a
    campaign minute passes in less than a real one)."""
    now = clock.now()
    last = session.scalar(select(func.max(SmsCode.created_at)).where(SmsCode.mobile == mobile))
    if last is not None:
        wait = settings.sms_interval_s - (now - last).total_seconds()
        if wait > 0:
            raise ApiError(
                429, "one code per phone per minute; wait", retry_after_s=clock.real_seconds(wait)
            )
    day = _day_start(now, zone)
    sent_today = session.scalar(
        select(func.count()).where(SmsCode.mobile == mobile, SmsCode.created_at >= day)
    )
    if (sent_today or 0) >= settings.sms_daily_cap:
        tomorrow = day + dt.timedelta(days=1)
        raise ApiError(
            429,
            f"daily cap of {settings.sms_daily_cap} codes reached for this phone",
            retry_after_s=clock.real_seconds((tomorrow - now).total_seconds()),
        )
    code = _new_code(settings, mobile)
    session.add(
        SmsCode(
            mobile=mobile,
            purpose=purpose,
            code=code,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=settings.sms_ttl_s),
            attempts=0,
            used=False,
        )
    )
    minutes = round(settings.sms_ttl_s / 60)
    try:
        gateway.send(session, mobile, f"[yanxiu] code {code} ({purpose}), valid {minutes} min", now)
    except SmsGatewayError:
        # 503, not 500: the caller rolls back, so the code is not stored and neither the
        # minute's interval nor the daily cap is spent on a text that never left.
        raise ApiError(503, f"SMS gateway unavailable; request the code again in {GATEWAY_RETRY_S} s",
                       reason="sms_gateway_unavailable", retry_after_s=GATEWAY_RETRY_S) from None
    return code


def _new_code(settings: Settings, mobile: str) -> str:
    if settings.sms_test_code and mobile.startswith(settings.sms_test_prefix):
        return settings.sms_test_code
    return f"{secrets.randbelow(10**6):06d}"


def verify_code(
    session: Session, settings: Settings, mobile: str, purpose: str, code: str, now: dt.datetime
) -> None:
    """Consume the latest code of this phone and purpose, or raise 400 saying why not.

    A wrong entry is committed before refusing, so the limit holds even though the request
    fails; the caller's later writes happen in a fresh transaction.
    """
    row = session.scalars(
        select(SmsCode)
        .where(SmsCode.mobile == mobile, SmsCode.purpose == purpose)
        .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
        .limit(1)
    ).first()
    if row is None or row.used:
        raise ApiError(400, f"code: no {purpose} code was sent to this phone; request one")
    if now >= row.expires_at:
        raise ApiError(400, "code: expired; request a new one")
    if row.attempts >= settings.sms_max_attempts:
        raise ApiError(400, "code: too many wrong entries; request a new one")
    if not secrets.compare_digest(row.code, code):
        left = settings.sms_max_attempts - row.attempts - 1
        session.execute(
            update(SmsCode).where(SmsCode.id == row.id).values(attempts=SmsCode.attempts + 1)
        )
        session.commit()
        raise ApiError(400, f"code: wrong code ({left} attempts left)", attempts_left=left)
    consumed = session.execute(
        update(SmsCode).where(SmsCode.id == row.id, SmsCode.used.is_(False)).values(used=True)
    )
    if getattr(consumed, "rowcount", 0) != 1:  # a concurrent request used it first
        raise ApiError(400, "code: already used; request a new one")
