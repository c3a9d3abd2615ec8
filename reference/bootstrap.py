"""Start-up: create the tables and the rows the server itself owns, idempotently.

- the columns added since a database was made (teachers.token_version);
- one "other / temporary unit" school per scenario province and sub-platform, the fallback a
  teacher picks when the school list lacks his school;
- the question bank of every course, drawn deterministically from the scenario seed (the
  scenario gives only the number of questions; the texts are synthetic).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import inspect, select

from reference.catalogue import Catalogue
from reference.db import Database
from reference.models import Question, School

TEMPORARY_NAME = "Other / temporary unit"
TEMPORARY_COUNTY = "(temporary)"
CHOICES = 4


def bootstrap(db: Database, catalogue: Catalogue) -> None:
    db.create_all()
    _add_token_version(db)
    with db.session() as session:
        _temporary_units(session, catalogue)
        _question_bank(session, catalogue)


def _add_token_version(db: Database) -> None:
    """Databases made before tokens carried a version get the column (every token then 0)."""
    if "token_version" not in {c["name"] for c in inspect(db.engine).get_columns("teachers")}:
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE teachers ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0"
            )


def _temporary_units(session, catalogue: Catalogue) -> None:
    have = set(
        session.execute(
            select(School.province, School.sub_platform).where(School.temporary.is_(True))
        ).all()
    )
    for province in catalogue.provinces:
        for sub in ("basic", "higher", "vocational"):
            if (province, sub) not in have:
                session.add(
                    School(
                        name=f"{TEMPORARY_NAME} ({province})",
                        province=province,
                        county=TEMPORARY_COUNTY,
                        sub_platform=sub,
                        temporary=True,
                    )
                )


def question_texts(seed: int, course_id: int, course_name: str, count: int):
    """(text, choices, answer) of each question, the same for the same seed."""
    rng = np.random.default_rng([seed, course_id])
    answers = rng.integers(0, CHOICES, size=count)
    for n in range(1, count + 1):
        text = f"{course_name}: question {n}. Which statement is correct?"
        choices = [f"Statement {chr(65 + k)} of question {n}" for k in range(CHOICES)]
        yield n, text, choices, int(answers[n - 1])


def _question_bank(session, catalogue: Catalogue) -> None:
    filled = set(
        session.scalars(
            select(Question.course_id).where(Question.campaign == catalogue.name).distinct()
        )
    )
    seed = catalogue.scenario.seed
    for course in catalogue.courses.values():
        if course.id in filled:
            continue
        for n, text, choices, answer in question_texts(
            seed, course.id, course.name, course.test.questions
        ):
            session.add(
                Question(
                    campaign=catalogue.name,
                    course_id=course.id,
                    number=n,
                    text=text,
                    choices=choices,
                    answer=answer,
                )
            )
