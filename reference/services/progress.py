"""Study progress: the heartbeat (hot path) and the per-teacher progress read-out.

Anti-spoofing: a heartbeat credits ``min(claimed elapsed, campaign.recordable_seconds(course,
previous accepted beat, now))`` where ``now`` is the server's campaign clock, so a client can
neither claim more time than really passed since its last beat for that resource, nor study a
course before it opens or after the window closes. A beat whose ``seq`` is not above the last
accepted one is a replay and changes nothing. The first beat of a resource only starts its
clock. The last-beat row is updated with compare-and-set on ``last_seq``, so two concurrent
beats (several workers, PostgreSQL's READ COMMITTED) cannot both credit the same interval.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reference.catalogue import Catalogue, ResourceInfo
from reference.errors import ApiError
from reference.models import CourseProgress as CourseRow
from reference.models import ResourceProgress as ResourceRow
from reference.schemas.progress import Heartbeat, HeartbeatResult
from sim.campaign import CourseProgress

CAS_TRIES = 5


def check_heartbeat(catalogue: Catalogue, beat: Heartbeat) -> ResourceInfo:
    """The beat's resource, or the refusal; no database needed."""
    resource = catalogue.resources.get(beat.resource_id)
    if resource is None:
        raise ApiError(404, f"resource_id: no resource {beat.resource_id!r} in {catalogue.name}")
    if beat.position_s > resource.duration_s:
        raise ApiError(
            422,
            f"position_s: {beat.position_s:g} is beyond the resource's end "
            f"({resource.duration_s:g} s)",
        )
    return resource


def apply_heartbeat(
    session: Session,
    catalogue: Catalogue,
    resource: ResourceInfo,
    teacher_id: int,
    beat: Heartbeat,
    now: dt.datetime,
) -> HeartbeatResult:
    """Write one beat inside the caller's transaction (the caller commits)."""
    key = (
        ResourceRow.teacher_id == teacher_id,
        ResourceRow.campaign == catalogue.name,
        ResourceRow.resource_id == beat.resource_id,
    )
    for _ in range(CAS_TRIES):
        row = session.execute(
            select(
                ResourceRow.id,
                ResourceRow.watched_s,
                ResourceRow.last_seq,
                ResourceRow.last_beat_at,
            ).where(*key)
        ).first()
        if row is None:
            if _first_beat(session, catalogue, teacher_id, resource.course_id, beat, now):
                studied = _course_studied(session, catalogue, teacher_id, resource.course_id)
                return HeartbeatResult(
                    recorded_s=0.0, resource_watched_s=0.0, course_studied_s=studied
                )
            continue
        if beat.seq <= row.last_seq:
            studied = _course_studied(session, catalogue, teacher_id, resource.course_id)
            return HeartbeatResult(
                recorded_s=0.0,
                resource_watched_s=row.watched_s,
                replay=True,
                course_studied_s=studied,
            )
        credit = min(
            beat.elapsed_s,
            catalogue.rules.recordable_seconds(resource.course_id, row.last_beat_at, now),
        )
        changed = session.execute(
            update(ResourceRow)
            .where(ResourceRow.id == row.id, ResourceRow.last_seq == row.last_seq)
            .values(
                watched_s=ResourceRow.watched_s + credit,
                position_s=beat.position_s,
                last_seq=beat.seq,
                last_beat_at=now,
            )
        )
        if changed.rowcount == 1:
            studied = session.execute(
                update(CourseRow)
                .where(
                    CourseRow.teacher_id == teacher_id,
                    CourseRow.campaign == catalogue.name,
                    CourseRow.course_id == resource.course_id,
                )
                .values(studied_s=CourseRow.studied_s + credit)
                .returning(CourseRow.studied_s)
            ).scalar_one()
            return HeartbeatResult(
                recorded_s=credit,
                course_studied_s=studied,
                resource_watched_s=row.watched_s + credit,
            )
        # Lost a race with another process (PostgreSQL, READ COMMITTED): read again.
    raise ApiError(409, "concurrent heartbeats for this resource; retry", retry_after_s=1)


def record_heartbeat(
    session: Session, catalogue: Catalogue, teacher_id: int, beat: Heartbeat, now: dt.datetime
) -> HeartbeatResult:
    """Check, write and commit one beat in its own transaction."""
    resource = check_heartbeat(catalogue, beat)
    result = apply_heartbeat(session, catalogue, resource, teacher_id, beat, now)
    session.commit()
    return result


def _first_beat(session, catalogue, teacher_id, course_id, beat, now) -> bool:
    """Start the resource's clock; False if a concurrent first beat won."""
    enrolled = session.scalar(
        select(CourseRow.id).where(
            CourseRow.teacher_id == teacher_id,
            CourseRow.campaign == catalogue.name,
            CourseRow.course_id == course_id,
        )
    )
    if enrolled is None:
        raise ApiError(
            403, f"not enrolled in {catalogue.name}; POST /api/v1/campaigns/{catalogue.name}/enrol"
        )
    try:
        with session.begin_nested():
            session.execute(
                insert(ResourceRow).values(
                    teacher_id=teacher_id,
                    campaign=catalogue.name,
                    resource_id=beat.resource_id,
                    course_id=course_id,
                    watched_s=0.0,
                    position_s=beat.position_s,
                    last_seq=beat.seq,
                    last_beat_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def _course_studied(session, catalogue, teacher_id, course_id) -> float:
    return (
        session.scalar(
            select(CourseRow.studied_s).where(
                CourseRow.teacher_id == teacher_id,
                CourseRow.campaign == catalogue.name,
                CourseRow.course_id == course_id,
            )
        )
        or 0.0
    )


def course_rows(session: Session, catalogue: Catalogue, teacher_id: int) -> dict[int, CourseRow]:
    rows = session.scalars(
        select(CourseRow).where(
            CourseRow.teacher_id == teacher_id, CourseRow.campaign == catalogue.name
        )
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
