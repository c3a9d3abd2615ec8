"""Administrators: their scope and aggregated progress of the teachers inside it.

A school administrator sees his school, a county administrator the schools of his county, a
provincial administrator his province; a query that names anything outside the caller's scope
is refused (403), never silently narrowed. Per-teacher credit and completion are computed with
the rules module, so the figures match what each teacher's campaign page says.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.campaign import CourseProgress
from reference.catalogue import Catalogue
from reference.errors import ApiError
from reference.models import CourseProgress as CourseRow
from reference.models import Enrolment, School, Teacher
from reference.schemas.admin import AdminProgress, CourseCounts, Scope

HOUR_S = 3600


def _refuse(what: str) -> ApiError:
    return ApiError(403, f"{what} is outside your administrative scope")


def resolve_scope(
    session: Session,
    admin: Teacher,
    school_id: int | None,
    county: str | None,
    province: str | None,
) -> Scope:
    if province is not None and province != admin.province:
        raise _refuse(f"province {province!r}")
    if admin.role == "school_admin":
        if admin.school_id is None:
            raise ApiError(403, "you are not attached to a school")
        if school_id not in (None, admin.school_id) or county not in (None, admin.county):
            raise _refuse("that school or county")
        return Scope(
            level="school", province=admin.province, county=admin.county, school_id=admin.school_id
        )
    if admin.role == "county_admin" and county not in (None, admin.county):
        raise _refuse(f"county {county!r}")
    if admin.role == "county_admin":
        county = admin.county
    if school_id is not None:
        school = session.get(School, school_id)
        if (
            school is None
            or school.province != admin.province
            or county not in (None, school.county)
        ):
            raise _refuse(f"school {school_id}")
        return Scope(
            level="school", province=school.province, county=school.county, school_id=school.id
        )
    if county is not None:
        return Scope(level="county", province=admin.province, county=county, school_id=None)
    return Scope(level="province", province=admin.province, county=None, school_id=None)


def _teacher_filter(scope: Scope) -> list:
    where = [Teacher.role == "teacher", Teacher.province == scope.province]
    if scope.school_id is not None:
        where.append(Teacher.school_id == scope.school_id)
    elif scope.county is not None:
        where.append(Teacher.county == scope.county)
    return where


def progress(session: Session, catalogue: Catalogue, scope: Scope) -> AdminProgress:
    where = _teacher_filter(scope)
    teachers, verified = session.execute(
        select(func.count(), func.count().filter(Teacher.verified.is_(True))).where(*where)
    ).one()
    enrolled = session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .join(Teacher, Teacher.id == Enrolment.teacher_id)
        .where(Enrolment.campaign == catalogue.name, *where)
    )
    rows = session.execute(
        select(
            CourseRow.teacher_id, CourseRow.course_id, CourseRow.studied_s, CourseRow.test_passed
        )
        .join(Teacher, Teacher.id == CourseRow.teacher_id)
        .where(CourseRow.campaign == catalogue.name, *where)
    )
    per_teacher: dict[int, dict[int, CourseProgress]] = defaultdict(dict)
    for teacher_id, course_id, studied_s, passed in rows:
        per_teacher[teacher_id][course_id] = CourseProgress(studied_s, passed)
    return _aggregate(catalogue, scope, teachers, verified, enrolled, per_teacher)


def _aggregate(catalogue, scope, teachers, verified, enrolled, per_teacher) -> AdminProgress:
    rules = catalogue.rules
    counts = {cid: [0, 0, 0] for cid in catalogue.courses}
    completed = 0
    studied = credited = 0.0
    for courses in per_teacher.values():
        completed += rules.is_complete(courses)
        studied += rules.studied_hours(courses, HOUR_S)
        credited += rules.credited_hours(courses)
        for cid, p in courses.items():
            if cid in counts:
                counts[cid][0] += p.studied_s > 0
                counts[cid][1] += rules.test_unlocked(cid, p.studied_s)
                counts[cid][2] += p.test_passed
    return AdminProgress(
        campaign=catalogue.name,
        scope=scope,
        teachers=teachers,
        verified=verified,
        enrolled=enrolled,
        completed=completed,
        studied_hours=round(studied, 3),
        credited_hours=round(credited, 3),
        courses=[
            CourseCounts(course_id=cid, studying=c[0], unlocked=c[1], passed=c[2])
            for cid, c in counts.items()
        ],
    )


def own_teacher(session: Session, admin: Teacher, teacher_id: int) -> Teacher:
    """A teacher of the school administrator's own school, else 403/404."""
    if admin.role != "school_admin" or admin.school_id is None:
        raise ApiError(403, "only a school administrator verifies or removes teachers")
    teacher = session.get(Teacher, teacher_id)
    if teacher is None or teacher.school_id != admin.school_id or teacher.role != "teacher":
        raise ApiError(404, f"teacher_id: no teacher {teacher_id} in your school")
    return teacher
