from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select, update

from reference.api.deps import CurrentTeacher, ReadSessionDep, SessionDep, StateDep
from reference.catalogue import Catalogue
from reference.errors import ApiError
from reference.models import Attempt, Question
from reference.models import CourseProgress as CourseRow
from reference.schemas.common import Problem, Responses
from reference.schemas.quizzes import Marked, QuestionOut, Submission, TestPaper
from reference.services.progress import course_rows, rules_progress

router = APIRouter(prefix="/tests", tags=["tests"])
CourseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ERRORS: Responses = {403: {"model": Problem}, 404: {"model": Problem}}


def _campaign_of(state, course_id: int) -> Catalogue:
    """The campaign a course belongs to (course ids are unique across a platform's campaigns);
    an unknown course is the default campaign's, which refuses it."""
    return state.campaigns.by_course.get(course_id, state.catalogue)


def _unlocked_row(session, catalogue: Catalogue, teacher_id: int, course_id: int) -> CourseRow:
    if course_id not in catalogue.courses:
        raise ApiError(404, f"course_id: no course {course_id} in {catalogue.name}")
    row = course_rows(session, catalogue, teacher_id).get(course_id)
    if row is None:
        raise ApiError(403, f"not enrolled in {catalogue.name}")
    if not catalogue.rules.test_unlocked(course_id, row.studied_s):
        need = catalogue.rules.rule(course_id).test_unlock_s
        raise ApiError(
            403,
            f"test locked: study {need / 60:g} min in course {course_id} first "
            f"({row.studied_s / 60:.1f} min so far)",
        )
    return row


def _questions(session, campaign: str, course_id: int) -> list[Question]:
    return list(
        session.scalars(
            select(Question)
            .where(Question.campaign == campaign, Question.course_id == course_id)
            .order_by(Question.number)
        )
    )


@router.get("/{course_id}", name="test_fetch", responses=ERRORS)
def fetch(course_id: CourseId, claims: CurrentTeacher, state: StateDep, session: ReadSessionDep) -> TestPaper:
    """The course's questions, without answers, once its minimum study time is reached."""
    catalogue = _campaign_of(state, course_id)
    _unlocked_row(session, catalogue, claims.account_id, course_id)
    questions = _questions(session, catalogue.name, course_id)
    return TestPaper(
        course_id=course_id,
        questions=[QuestionOut(id=q.id, text=q.text, choices=q.choices) for q in questions],
    )


@router.post("/{course_id}/attempts", name="test_submit", responses=ERRORS)
def submit(
    course_id: CourseId,
    body: Submission,
    claims: CurrentTeacher,
    state: StateDep,
    session: SessionDep,
) -> Marked:
    """Mark an attempt: full marks pass; attempts are unlimited while the window is open."""
    catalogue, now = _campaign_of(state, course_id), state.clock.now()
    row = _unlocked_row(session, catalogue, claims.account_id, course_id)
    if not catalogue.rules.in_window(now):
        raise ApiError(403, f"the {catalogue.name} window is closed")
    questions = _questions(session, catalogue.name, course_id)
    by_id = {str(q.id): q for q in questions}
    unknown = sorted(set(body.answers) - set(by_id))
    if unknown:
        raise ApiError(422, f"answers: questions {', '.join(unknown)} are not in course {course_id}")
    for key, choice in body.answers.items():
        if choice >= len(by_id[key].choices):
            raise ApiError(422, f"answers.{key}: choice {choice} does not exist")
    correct = sum(body.answers.get(str(q.id)) == q.answer for q in questions)
    passed = catalogue.rules.passes(correct, len(questions))
    attempt = row.attempts + 1
    session.execute(
        update(CourseRow)
        .where(CourseRow.id == row.id)
        .values(
            attempts=CourseRow.attempts + 1,
            test_passed=CourseRow.test_passed | passed,
            passed_at=now if passed and not row.test_passed else row.passed_at,
        )
    )
    session.add(
        Attempt(
            teacher_id=claims.account_id,
            campaign=catalogue.name,
            course_id=course_id,
            attempt=attempt,
            correct=correct,
            questions=len(questions),
            passed=passed,
            submitted_at=now,
        )
    )
    session.commit()
    credit = catalogue.rules.credit_by_course(
        rules_progress(course_rows(session, catalogue, claims.account_id))
    )
    return Marked(
        attempt=attempt,
        correct=correct,
        questions=len(questions),
        passed=passed,
        credited_hours=credit[course_id],
    )
