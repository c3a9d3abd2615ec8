"""Writes the seeded teachers' study into the four progress tables: most teachers in the
state the model predicts at the instant (``reference.seeding.progress``), the last few in a
session in progress (``reference.seeding.in_session``). Kept apart from both so that neither
imports the other back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from reference.seeding.in_session import fetch_rate, in_session
from reference.seeding.progress import (
    COLUMNS,
    STUDYING,
    Course,
    StageShares,
    TeacherState,
    draw_stages,
    openings_from_results,
    progress_stage,
    progress_status,
    teacher_state,
)


def load_progress(db, catalogue, teachers: int, instant: dt.datetime, shares: StageShares,
                  rng: np.random.Generator, resumed: int = 0,
                  in_flight: dict[int, str] | None = None,
                  model_results: Path | None = None,
                  status: dict[int, str] | None = None,
                  stages: dict[int, int] | None = None) -> dict[str, int]:
    """Enrol teachers 1..``teachers`` who started and write their course, resource and test
    rows; returns how many teachers are at each stage. The last ``resumed`` of them are in a
    session at the instant (``reference.seeding.in_session``): their step in flight goes into
    ``in_flight`` by teacher id (``accounts.csv``'s ``resume`` column). ``status`` gets each
    teacher's ``progress.status`` (``accounts.csv``'s ``progress`` column), ``stages`` a started
    teacher's credited courses (its ``stage`` column)."""
    from domain.rules import RuleTables
    from reference.models import Base
    from reference.seeding.bulk import load_rows

    tables = RuleTables(catalogue.rules, catalogue.scenario)
    specs = [Course([r.id for r in catalogue.courses[cid].resources], catalogue.courses[cid].test.questions)
             for cid in tables.course_ids]
    rows = _Rows(db, catalogue, Base.metadata.tables)
    counts: dict[str, int] = {}
    resumed = max(0, min(resumed, teachers))
    at = catalogue.rules.at(instant)
    sessions = catalogue.scenario.behaviour.sessions
    # where in a recently opened course its teachers are: from the model's own sessions since
    openings = openings_from_results(model_results, tables, at, shares) if model_results is not None else None
    for tid, stage in enumerate(draw_stages(shares, teachers - resumed, rng).tolist(), start=1):
        state = teacher_state(tables, specs, at, stage, rng, sessions, openings)
        key = "not started" if state is None else f"{sum(c.passed for c in state.courses)} credited"
        counts[key] = counts.get(key, 0) + 1
        if status is not None:
            status[tid] = progress_status(tables, state)
        stage = progress_stage(tables, state)
        if stages is not None and stage is not None:
            stages[tid] = stage
        if state is not None:
            rows.add(tid, state, specs, tables.course_ids)
    rate = fetch_rate(model_results, tables, at) if model_results is not None and resumed else None
    drawn = in_session(tables, specs, at, shares, resumed, sessions, rng, rate, openings)
    for tid, (state, flight) in enumerate(drawn, start=teachers - resumed + 1):
        counts[f"in a session ({flight.kind})"] = counts.get(f"in a session ({flight.kind})", 0) + 1
        rows.add(tid, state, specs, tables.course_ids)
        if status is not None:
            status[tid] = STUDYING  # enrolled (before the instant, in the model's session) and not done
        if in_flight is not None:
            in_flight[tid] = flight.text()
    for name, columns in COLUMNS.items():
        load_rows(db, Base.metadata.tables[name], columns, rows.rows[name])
    return counts


class _Rows:
    """Driver-ready rows of the four progress tables (COLUMNS order)."""

    def __init__(self, db, catalogue, tables) -> None:
        from reference.seeding.bulk import db_constant

        self.catalogue, self.campaign = catalogue, catalogue.name
        self.rows: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
        instant = tables["enrolments"].c.enrolled_at.type.dialect_impl(db.engine.dialect)
        self.instant = instant.bind_processor(db.engine.dialect) or (lambda value: value)
        column = tables["course_progress"].c.test_passed
        self.yes, self.no = (db_constant(db, column.table, column.name, v) for v in (True, False))

    def add(self, tid: int, state: TeacherState, specs: list[Course], course_ids: list[int]) -> None:
        name, when = self.campaign, self.instant
        self.rows["enrolments"].append((tid, name, when(state.enrolled_at)))
        done = {c.cid: c for c in state.courses}
        for cid in self.catalogue.courses:
            c = done.get(cid)
            passed = bool(c and c.passed)
            self.rows["course_progress"].append((tid, name, cid, c.studied_s if c else 0.0,
                                                 c.attempts if c else 0, self.yes if passed else self.no,
                                                 when(c.at) if passed and c else None))
        for c in state.courses:
            stamp = when(c.at)
            for rid, seconds in c.watched:
                position = min(seconds, self.catalogue.resources[rid].duration_s)
                self.rows["resource_progress"].append((tid, name, rid, c.cid, seconds, position, 0, stamp))
            questions = specs[course_ids.index(c.cid)].questions
            for a in range(1, c.attempts + 1):
                full = c.passed and a == c.attempts
                self.rows["test_attempts"].append((tid, name, c.cid, a, questions - (not full), questions,
                                                   self.yes if full else self.no, stamp))
