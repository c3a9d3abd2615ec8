from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from reference.schemas.common import Body

QuestionKey = Annotated[str, StringConstraints(pattern=r"^\d{1,9}$")]


class QuestionOut(BaseModel):
    id: int
    text: str
    choices: list[str]


class TestPaper(BaseModel):
    course_id: int
    questions: list[QuestionOut]


class Submission(Body):
    answers: Annotated[dict[QuestionKey, Annotated[int, Field(ge=0, le=99)]], Field(max_length=500)]


class Marked(BaseModel):
    attempt: int
    correct: int
    questions: int
    passed: bool
    credited_hours: float
