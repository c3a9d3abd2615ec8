"""Naive date-times read as campaign-local wall-clock time: the one place that says so."""

from __future__ import annotations

import datetime as dt


def localise(moment: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    """``moment`` in ``zone`` when it has no zone of its own (a date-time written without an
    offset means the campaign's local time); an aware one, or no zone, is returned as is."""
    if moment.tzinfo is not None or zone is None:
        return moment
    return moment.replace(tzinfo=zone)
