"""The heartbeat batch's SQL (``reference.services.heartbeat``): the row update, the course total
and the study clock moves, and the batch's two reads for IN-lists padded to a power of two,
compiled once per dialect and run on the raw DBAPI cursor kept in the session (``statements``)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, select, update
from sqlalchemy.orm import Session

from reference.models import CourseProgress as CourseRow
from reference.models import ResourceProgress as ResourceRow
from reference.models import Teacher

# ORM classes type __table__ as any FromClause; these are Tables
_RP, _CP, TEACHERS = (cast(Table, m.__table__) for m in (ResourceRow, CourseRow, Teacher))


def padded(n: int) -> int:
    """IN-lists are padded to a power of two: a handful of statement texts, all cached."""
    return 1 << max(0, n - 1).bit_length()


_UPDATE_ROW = (
    update(_RP)
    .where(_RP.c.id == bindparam("b_row_id"), _RP.c.last_seq == bindparam("b_old_seq"))
    .values(
        watched_s=_RP.c.watched_s + bindparam("b_credit"),
        position_s=bindparam("b_position_s"),
        last_seq=bindparam("b_seq"),
        last_beat_at=bindparam("b_now", type_=_RP.c.last_beat_at.type),
    )
)
_ADD_STUDY = (
    update(_CP)
    .where(
        _CP.c.teacher_id == bindparam("b_teacher_id"),
        _CP.c.campaign == bindparam("b_campaign"),
        _CP.c.course_id == bindparam("b_course_id"),
    )
    .values(studied_s=_CP.c.studied_s + bindparam("b_credit"))
)
_MOVE_CLOCK = (
    update(TEACHERS)
    .where(TEACHERS.c.id == bindparam("b_teacher_id"))
    .values(study_clock_at=bindparam("b_clock_at", type_=TEACHERS.c.study_clock_at.type))
)


def _reads(teachers: int, resources: int):
    """The batch's two reads for IN-lists of these sizes."""
    teacher_ids: list[BindParameter[Any]] = [bindparam(f"t{i}") for i in range(teachers)]
    rows = (
        select(_RP.c.teacher_id, _RP.c.resource_id, _RP.c.id, _RP.c.watched_s, _RP.c.last_seq)
        .add_columns(_RP.c.last_beat_at, _RP.c.position_s, TEACHERS.c.token_version)
        .add_columns(TEACHERS.c.study_clock_at)
        .join_from(_RP, TEACHERS, TEACHERS.c.id == _RP.c.teacher_id)
        .where(
            _RP.c.teacher_id.in_(teacher_ids),
            _RP.c.campaign == bindparam("campaign"),
            _RP.c.resource_id.in_([bindparam(f"r{i}") for i in range(resources)]),
        )
        # PostgreSQL locks in one order (teacher, then row): two batches cannot deadlock. The
        # teacher's row is locked too: it holds the study clock that his plays share.
        .order_by(_RP.c.teacher_id, _RP.c.id)
        .with_for_update(of=[_RP, TEACHERS])  # rendered as nothing on SQLite
    )
    courses = select(_CP.c.teacher_id, _CP.c.course_id, _CP.c.studied_s).where(
        _CP.c.teacher_id.in_(teacher_ids), _CP.c.campaign == bindparam("campaign")
    )
    return rows, courses


class HeartbeatSql:
    """The statements compiled once per dialect (and IN-list sizes), run on the raw DBAPI
    cursor: SQLAlchemy's execution layer cost more per statement than the database itself.
    The SQL text still comes from the Core statements above (one definition for SQLite and
    PostgreSQL); the one typed value, the instant, goes through its column type's processors."""

    def __init__(self, dialect) -> None:
        if dialect.name == "sqlite":  # named parameters, so both drivers take the same dicts
            dialect = type(dialect)(paramstyle="named")
        self.dialect = dialect
        self.update_row = str(_UPDATE_ROW.compile(dialect=dialect))
        self.add_study = str(_ADD_STUDY.compile(dialect=dialect))
        self.move_clock = str(_MOVE_CLOCK.compile(dialect=dialect))
        instant = _RP.c.last_beat_at.type.dialect_impl(dialect)
        self.bind_instant = instant.bind_processor(dialect) or _same
        self.read_instant = instant.result_processor(dialect, None) or _same
        self._reads: dict[tuple[int, int], tuple[str, str]] = {}

    def reads(self, teachers: int, resources: int) -> tuple[str, str]:
        found = self._reads.get((teachers, resources))
        if found is None:
            rows, courses = _reads(teachers, resources)
            found = str(rows.compile(dialect=self.dialect)), str(courses.compile(dialect=self.dialect))
            self._reads[(teachers, resources)] = found
        return found


def _same(value):
    return value


_compiled: dict[str, HeartbeatSql] = {}


def statements(session: Session) -> tuple[HeartbeatSql, object]:
    # Once per transaction, kept in the session: Session.connection() walks the ORM's
    # transaction state each time, which cost more than the statements together.
    found = session.info.get("heartbeat_sql")
    if found is None:
        connection = session.connection()
        sql = _compiled.get(connection.dialect.name)
        if sql is None:
            sql = _compiled[connection.dialect.name] = HeartbeatSql(connection.dialect)
        raw = connection.connection.dbapi_connection
        assert raw is not None  # a checked-out connection has its driver connection
        found = session.info["heartbeat_sql"] = (sql, raw.cursor())
    return found
