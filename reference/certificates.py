"""The certificate batch (``yanxiu certificates``): after the window, one certificate to every
teacher who completed the campaign (结业, completion). Who completed and with how many credit
hours is decided by the rules module (``domain.campaign.Campaign``), never here.

Idempotent: a teacher who already holds this campaign's certificate is skipped, so the batch
can be rerun after a crash. Progress rows are streamed in teacher order, so a million teachers
need memory for one teacher's rows at a time plus the certificates to write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import select

from domain.campaign import CourseProgress
from reference.catalogue import Catalogue
from reference.db import Database
from reference.models import Certificate
from reference.models import CourseProgress as CourseRow
from reference.seeding.bulk import db_constant, load_rows

STREAM_ROWS = 20_000


class CertificateError(ValueError):
    """The batch cannot run as asked; str() says why."""


@dataclass(frozen=True)
class BatchReport:
    enrolled: int
    completers: int
    issued: int
    already: int

    def summary(self) -> str:
        return (
            f"{self.enrolled:,} enrolled teachers, {self.completers:,} completed; "
            f"issued {self.issued:,} certificates ({self.already:,} already held one)"
        )


def serial_number(campaign: str, year: int, teacher_id: int) -> str:
    """A readable, unique serial: year, a short code of the campaign, the teacher's id."""
    code = hashlib.sha256(campaign.encode()).hexdigest()[:6].upper()
    return f"YX{year}-{code}-{teacher_id:010d}"


def _teacher_progress(db: Database, campaign: str):
    """(teacher_id, {course_id: CourseProgress}) for every enrolled teacher, streamed."""
    query = (
        select(CourseRow.teacher_id, CourseRow.course_id, CourseRow.studied_s, CourseRow.test_passed)
        .where(CourseRow.campaign == campaign)
        .order_by(CourseRow.teacher_id)
        .execution_options(yield_per=STREAM_ROWS)
    )
    with db.session(write=False) as session:
        rows = session.execute(query)
        for teacher_id, group in groupby(rows, key=lambda r: r.teacher_id):
            yield (
                teacher_id,
                {r.course_id: CourseProgress(r.studied_s, bool(r.test_passed)) for r in group},
            )


def issue_certificates(db: Database, catalogue: Catalogue, now: dt.datetime) -> BatchReport:
    """Issue the campaign's certificates as of ``now`` (an aware instant)."""
    rules = catalogue.rules
    if rules.at(now) < rules.certificates_at:
        raise CertificateError(
            f"--now: certificates of {catalogue.name} are issued from "
            f"{rules.certificates_at.isoformat()}; it is {rules.at(now).isoformat()}"
        )
    campaign = catalogue.name
    with db.session(write=False) as session:
        held = set(session.scalars(select(Certificate.teacher_id).where(Certificate.campaign == campaign)))
    enrolled = completers = 0
    new: list[tuple[int, float]] = []
    for teacher_id, progress in _teacher_progress(db, campaign):
        enrolled += 1
        if not rules.is_complete(progress):
            continue
        completers += 1
        if teacher_id not in held:
            new.append((teacher_id, rules.credited_hours(progress)))
    table = Certificate.__table__
    issued_at = db_constant(db, table, "issued_at", rules.at(now))
    year = rules.certificates_at.year
    rows = ((tid, campaign, serial_number(campaign, year, tid), hours, issued_at) for tid, hours in new)
    if new:
        load_rows(db, table, ("teacher_id", "campaign", "serial", "credited_hours", "issued_at"), rows)
    return BatchReport(enrolled, completers, len(new), completers - len(new))
