from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import insert, select

from reference.api.deps import CurrentTeacher, ReadSessionDep, SessionDep, StateDep, served
from reference.models import CourseProgress as CourseRow
from reference.models import Enrolment
from reference.schemas.campaign import CampaignPage, CourseView, Enrolled, ResourceView, TestState
from reference.schemas.common import CampaignName, Problem
from reference.services.progress import course_rows, rules_progress, watched

router = APIRouter(tags=["campaign"])
HOUR_S = 3600
# ?campaign= on a server running several campaigns (a platform scenario); default: its first
CampaignQuery = Annotated[CampaignName | None, Query(description="campaign (default: the server's first)")]


@router.post(
    "/campaigns/{campaign}/enrol",
    name="enrol",
    status_code=201,
    responses={200: {"model": Enrolled}, 404: {"model": Problem}},
)
def enrol(
    campaign: Annotated[str, Path(max_length=64)],
    claims: CurrentTeacher,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> Enrolled:
    """Enrol in the campaign (201; 200 if already enrolled)."""
    catalogue = served(state, campaign)
    existing = session.scalars(
        select(Enrolment).where(Enrolment.teacher_id == claims.account_id, Enrolment.campaign == campaign)
    ).first()
    if existing is not None:
        response.status_code = 200
        return Enrolled(campaign=campaign, enrolled_at=existing.enrolled_at, created=False)
    now = state.clock.now()
    session.add(Enrolment(teacher_id=claims.account_id, campaign=campaign, enrolled_at=now))
    session.execute(
        insert(CourseRow),
        [
            {
                "teacher_id": claims.account_id,
                "campaign": campaign,
                "course_id": cid,
                "studied_s": 0.0,
                "attempts": 0,
                "test_passed": False,
            }
            for cid in catalogue.courses
        ],
    )
    session.commit()
    return Enrolled(campaign=campaign, enrolled_at=now, created=True)


@router.get("/campaign", name="campaign_page", responses={404: {"model": Problem}})
def page(
    claims: CurrentTeacher, state: StateDep, session: ReadSessionDep, campaign: CampaignQuery = None
) -> CampaignPage:
    """Courses, resources and the caller's progress in one campaign: studied X h / credited
    Y h (study of a resource shared with another campaign counts in both, where both record it)."""
    catalogue = served(state, campaign)
    rules, now = catalogue.rules, state.clock.now()
    rows = course_rows(session, catalogue, claims.account_id)
    seen = watched(session, catalogue, claims.account_id)
    progress = rules_progress(rows)
    credit = rules.credit_by_course(progress)
    courses = []
    for cid, course in catalogue.courses.items():
        row = rows.get(cid)
        studied = row.studied_s if row else 0.0
        courses.append(
            CourseView(
                id=cid,
                name=course.name,
                opens=course.opens,
                open=rules.is_open(cid, now),
                credit_hours_max=course.credit.hours,
                min_study_s=rules.rule(cid).min_study_s,
                resources=[_resource(r, seen.get(r.id, 0.0)) for r in course.resources],
                studied_s=studied,
                credited_hours=credit[cid],
                test=TestState(
                    unlocked=rules.test_unlocked(cid, studied),
                    passed=bool(row and row.test_passed),
                    attempts=row.attempts if row else 0,
                ),
            )
        )
    return CampaignPage(
        campaign=catalogue.name,
        start=rules.start_at,
        end=rules.end_at,
        now=now,
        enrolled=bool(rows),
        courses=courses,
        studied_hours=rules.studied_hours(progress, HOUR_S),
        credited_hours=sum(credit.values()),
        complete=rules.is_complete(progress),
    )


def _resource(resource, watched_s: float) -> ResourceView:
    percent = min(100.0, 100.0 * watched_s / resource.duration_s)
    return ResourceView(
        id=resource.id,
        title=resource.title,
        duration_s=resource.duration_s,
        watched_s=watched_s,
        percent=round(percent, 1),
    )
