"""Study progress read-outs: per course and per resource, in the rules module's terms. The
heartbeat that writes them is ``reference.services.heartbeat``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.campaign import CourseProgress
from reference.catalogue import Catalogue
from reference.models import CourseProgress as CourseRow
from reference.models import ResourceProgress as ResourceRow


def course_rows(session: Session, catalogue: Catalogue, teacher_id: int) -> dict[int, CourseRow]:
    rows = session.scalars(
        select(CourseRow).where(CourseRow.teacher_id == teacher_id, CourseRow.campaign == catalogue.name)
    )
    return {row.course_id: row for row in rows}


def rules_progress(rows: dict[int, CourseRow]) -> dict[int, CourseProgress]:
    """The rows in the rules module's terms."""
    return {cid: CourseProgress(r.studied_s, r.test_passed) for cid, r in rows.items()}


def watched(session: Session, catalogue: Catalogue, teacher_id: int) -> dict[str, float]:
    return dict(
        session.execute(
            select(ResourceRow.resource_id, ResourceRow.watched_s).where(
                ResourceRow.teacher_id == teacher_id, ResourceRow.campaign == catalogue.name
            )
        ).all()
    )
