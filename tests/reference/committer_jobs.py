"""The write job the committer tests hand over: one SMS row, answered by its number."""

from __future__ import annotations

import datetime as dt

from reference.models import SmsMessage


def add_message(n: int):
    """A job adding the message ``m<n>`` and answering ``n``."""

    def job(session):
        session.add(SmsMessage(mobile="13800138000", text=f"m{n}", sent_at=dt.datetime.now(dt.UTC)))
        session.flush()
        return n

    return job
