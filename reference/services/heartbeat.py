"""The heartbeat's durable write (the hot path), one group-commit batch at a time.

Anti-cheating: a heartbeat credits ``campaign.play_credit(...)`` (``domain.campaign``, the one
statement of the rules) with ``now`` from the server's campaign clock: never more than the
claim, the wall time since the play's last accepted beat, the position advance (paused and
rewound players earn nothing, a position moving faster than the maximum playback rate is a seek
and earns nothing) or what is left of the resource's credit multiple; and with one study clock
per teacher (``teachers.study_clock_at``), concurrent plays share the teacher's real time
instead of each earning it. A beat for a course not open or outside the window is refused
(403, ``reason``). A beat whose ``seq`` is not above the last accepted one is a replay and
changes nothing. The first beat of a resource only starts its clock.

A batch (``reference.committer``) is written with four statements whatever its size: one read
of the batch's rows, one of its teachers' course totals, then the updates as two
``executemany``. The rules run in Python over the rows in the batch's order, exactly as if the
beats had been written one after another (several beats of one resource in a batch chain).
Rows are read ``FOR UPDATE`` on PostgreSQL (SQLite has one writer at a time) and the update
is still compare-and-set on ``last_seq``: if another process got in between, the batch fails
and the committer replays its jobs one per transaction.

Several campaigns (a platform scenario): a play belongs to one campaign (its resource row);
its credit also counts in every other campaign that has the resource and whose rules record
that span (``SharedCredit.route``), added to the teacher's course there if he is enrolled.
A batch with beats of several campaigns is written run by run (consecutive beats of one
campaign) in one transaction, so it still equals the beats one by one.
A campaign with no shared resource (always, on a single-campaign server) does none of this.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.campaign import WINDOW_CLOSED, PlayState, SharedCredit
from reference.catalogue import Catalogue, ResourceInfo
from reference.errors import ApiError
from reference.models import CourseProgress as CourseRow
from reference.models import ResourceProgress as ResourceRow
from reference.models import Teacher
from reference.schemas.progress import Heartbeat, HeartbeatResult
from reference.security import TOKEN_REVOKED
from reference.services.heartbeat_sql import TEACHERS, HeartbeatSql, padded, statements

Outcome = HeartbeatResult | ApiError


def check_heartbeat(catalogue: Catalogue, beat: Heartbeat, now: dt.datetime) -> ResourceInfo:
    """The beat's resource, or the refusal; no database needed. A course that is not open yet
    at ``now`` (nothing before it can ever be credited) is refused with 403 and ``reason``
    ``course_not_open`` (``opens_at``), so a player can tell the teacher why nothing counts.
    After the window, see ``_refuse_closed``."""
    resource = catalogue.resources.get(beat.resource_id)
    if resource is None:
        raise ApiError(404, f"resource_id: no resource {beat.resource_id!r} in {catalogue.name}")
    if beat.position_s > resource.duration_s:
        raise ApiError(
            422,
            f"position_s: {beat.position_s:g} is beyond the resource's end ({resource.duration_s:g} s)",
        )
    rules = catalogue.rules
    reason = rules.closed_reason(resource.course_id, now)
    if reason == WINDOW_CLOSED and now < rules.start_at:
        _refuse_closed(catalogue)
    if reason is not None and reason != WINDOW_CLOSED:
        opens = rules.rule(resource.course_id).opens_at
        raise ApiError(
            403,
            f"course {resource.course_id} opens {opens.isoformat()}; study is not recorded before",
            reason=reason, opens_at=opens.isoformat(),
        )
    return resource


def _refuse_closed(catalogue: Catalogue) -> None:
    """403 ``window_closed``: outside the window a beat is refused, except the first beat of a
    play after the end, which is still credited the study up to the end."""
    rules = catalogue.rules
    raise ApiError(
        403,
        f"the study window of {catalogue.name} is closed ({rules.start_at.isoformat()} to "
        f"{rules.end_at.isoformat()}); study is not recorded",
        reason=WINDOW_CLOSED, window_start=rules.start_at.isoformat(), window_end=rules.end_at.isoformat(),
    )


@dataclass(frozen=True, slots=True)
class BeatWrite:
    """A checked heartbeat waiting for its group commit (a committer job of the batched kind)."""

    catalogue: Catalogue
    resource: ResourceInfo
    teacher_id: int
    beat: Heartbeat
    now: dt.datetime
    token_version: int

    @staticmethod
    def run_all(session: Session, writes: list[BeatWrite]) -> list[Outcome]:
        return apply_heartbeats(session, writes)


class _Row:
    """A resource row as read, then as the batch's beats leave it."""

    __slots__ = ("id", "watched", "seq", "read_seq", "beat_at", "position", "changed", "credit", "version",
                 "shared")

    def __init__(self, row_id, watched, seq, beat_at, position, version) -> None:
        self.id, self.watched, self.seq, self.read_seq = row_id, watched, seq, seq
        self.beat_at, self.position, self.changed = beat_at, position, False
        self.credit, self.version = 0.0, version
        # (other campaign, its course) -> seconds this row's credits also count there
        self.shared: dict[tuple[str, int], float] | None = None


class _Clock:
    """A teacher's study clock as read, then as the batch's credits move it."""

    __slots__ = ("at", "changed")

    def __init__(self, at) -> None:
        self.at, self.changed = at, False


class LostRace(ApiError):
    """Another transaction changed a row of the batch between its read and its write."""

    def __init__(self, what: str) -> None:
        super().__init__(409, f"concurrent heartbeats for this resource ({what}); retry", retry_after_s=1)


def apply_heartbeats(session: Session, writes: list[BeatWrite]) -> list[Outcome]:
    """Write a batch of beats inside the caller's transaction (the caller commits). Each beat
    gets its result or its refusal (401 if the teacher's tokens were revoked since its token
    was issued, 403 if not enrolled); a refused beat writes nothing. Beats of several
    campaigns are written run by run (a run: consecutive beats of one campaign), each run
    reading what the runs before it wrote, so the order of the beats is kept (one study clock
    per teacher makes it matter)."""
    campaign = writes[0].catalogue.name
    if any(w.catalogue.name != campaign for w in writes):
        return _by_runs(session, writes)
    return _apply_campaign(session, campaign, writes)


def _by_runs(session: Session, writes: list[BeatWrite]) -> list[Outcome]:
    # Each run's read locks its teachers; all of them are locked first, in one order, so that
    # two batches mixing campaigns cannot deadlock (PostgreSQL; nothing on SQLite).
    teachers = sorted({w.teacher_id for w in writes})
    session.execute(select(TEACHERS.c.id).where(TEACHERS.c.id.in_(teachers)).order_by(TEACHERS.c.id)
                    .with_for_update())
    outcomes: list[Outcome] = []
    start = 0
    while start < len(writes):
        campaign, end = writes[start].catalogue.name, start + 1
        while end < len(writes) and writes[end].catalogue.name == campaign:
            end += 1
        outcomes += _apply_campaign(session, campaign, writes[start:end])
        start = end
    return outcomes


def _apply_campaign(session: Session, campaign: str, writes: list[BeatWrite]) -> list[Outcome]:
    sql, cursor = statements(session)
    rows, studied, clocks = _read(sql, cursor, campaign, writes)
    outcomes: list[Outcome] = []
    for write in writes:
        key = (write.teacher_id, write.beat.resource_id)
        try:
            if key not in rows:
                row = _first_beat(session, write, clocks)
                if row is not None:
                    rows[key] = row
                    outcomes.append(_result(0.0, 0.0, studied, write, None))
                    continue
                won, _, won_clocks = _read(sql, cursor, campaign, [write])  # the beat that won
                rows.update(won)
                clocks.setdefault(write.teacher_id, won_clocks[write.teacher_id])
            outcomes.append(_apply(rows[key], write, studied, clocks[write.teacher_id]))
        except ApiError as refusal:
            outcomes.append(refusal)
    _write(sql, cursor, campaign, rows, writes, clocks)
    return outcomes


def _read(sql: HeartbeatSql, cursor, campaign: str, writes: list[BeatWrite]):
    """The batch's rows, its teachers' course totals and the study clocks of the teachers
    who have a row among them."""
    teachers = sorted({w.teacher_id for w in writes})
    resources = sorted({w.beat.resource_id for w in writes})
    nt, nr = padded(len(teachers)), padded(len(resources))
    params: dict[str, Any] = {"campaign": campaign}
    params.update({f"t{i}": t for i, t in enumerate(teachers + [-1] * (nt - len(teachers)))})
    params.update({f"r{i}": r for i, r in enumerate(resources + [""] * (nr - len(resources)))})
    rows_sql, courses_sql = sql.reads(nt, nr)
    cursor.execute(rows_sql, params)
    wanted = {(w.teacher_id, w.beat.resource_id) for w in writes}
    rows, clocks = {}, {}
    read_instant = sql.read_instant
    for t, r, row_id, watched, seq, at, position, version, clock_at in cursor.fetchall():
        if t not in clocks:
            clocks[t] = _Clock(read_instant(clock_at) if clock_at is not None else None)
        if (t, r) in wanted:
            rows[(t, r)] = _Row(row_id, watched, seq, read_instant(at), position, version)
    cursor.execute(courses_sql, {k: v for k, v in params.items() if k[0] != "r"})
    studied = {(t, c): s for t, c, s in cursor.fetchall()}
    return rows, studied, clocks


def _apply(row: _Row, write: BeatWrite, studied: dict, clock: _Clock) -> Outcome:
    if row.version != write.token_version:
        raise ApiError(401, TOKEN_REVOKED)
    beat = write.beat
    if beat.seq <= row.seq:
        return HeartbeatResult(
            recorded_s=0.0,
            resource_watched_s=row.watched,
            replay=True,
            course_studied_s=studied.get((write.teacher_id, write.resource.course_id), 0.0),
        )
    resource = write.resource
    play = PlayState(row.beat_at, row.position, row.watched, clock.at)
    rules = write.catalogue.rules
    credit, limited_by = rules.play_credit(
        resource.course_id, play, write.now, beat.position_s, beat.elapsed_s, resource.duration_s
    )
    if credit <= 0 and write.now >= rules.end_at:
        _refuse_closed(write.catalogue)
    row.seq, row.beat_at, row.position, row.changed = beat.seq, write.now, beat.position_s, True
    row.watched += credit
    row.credit += credit
    if credit > 0:
        clock.at, clock.changed = write.now, True
        shared = write.catalogue.shared
        if shared is not None:
            _share(row, write, shared, rules.credited_since(play), credit)
    return _result(credit, row.watched, studied, write, limited_by)


def _share(row: _Row, write: BeatWrite, shared: SharedCredit, since: dt.datetime, credit: float) -> None:
    """The beat's credit in the other campaigns that have the resource and record that span."""
    routed = shared.route(write.beat.resource_id, credit, since, write.now)
    for campaign, (course_id, seconds) in routed.items():
        if campaign != write.catalogue.name:
            if row.shared is None:
                row.shared = {}
            key = (campaign, course_id)
            row.shared[key] = row.shared.get(key, 0.0) + seconds


def _result(
    credit: float, watched: float, studied: dict, write: BeatWrite, limited_by: str | None
) -> HeartbeatResult:
    course = (write.teacher_id, write.resource.course_id)
    studied[course] = studied.get(course, 0.0) + credit
    return HeartbeatResult(
        recorded_s=credit, resource_watched_s=watched, course_studied_s=studied[course], limited_by=limited_by
    )


def _write(sql: HeartbeatSql, cursor, campaign: str, rows: dict, writes: list[BeatWrite],
           clocks: dict) -> None:
    changed = [row for row in rows.values() if row.changed]
    if not changed:
        return
    cursor.executemany(
        sql.update_row,
        [
            {
                "b_row_id": row.id,
                "b_old_seq": row.read_seq,
                "b_credit": row.credit,
                "b_position_s": row.position,
                "b_seq": row.seq,
                "b_now": sql.bind_instant(row.beat_at),
            }
            for row in changed
        ],
    )
    if cursor.rowcount != len(changed):
        # Cannot happen under SQLite's single writer or PostgreSQL's FOR UPDATE; if it does,
        # the batch fails and the committer replays its jobs one per transaction.
        raise LostRace(f"{len(changed) - cursor.rowcount} row(s) changed after they were read")
    credits = _course_credits(campaign, rows, writes)
    if credits:
        cursor.executemany(
            sql.add_study,
            [
                {"b_teacher_id": t, "b_campaign": name, "b_course_id": c, "b_credit": credit}
                for (t, name, c), credit in sorted(credits.items())  # one lock order on PostgreSQL
            ],
        )
    moved = sorted((t, clock.at) for t, clock in clocks.items() if clock.changed)
    if moved:
        cursor.executemany(
            sql.move_clock, [{"b_teacher_id": t, "b_clock_at": sql.bind_instant(at)} for t, at in moved]
        )


def _course_credits(campaign: str, rows: dict, writes: list[BeatWrite]) -> dict[tuple[int, str, int], float]:
    """Seconds credited in the batch per (teacher, campaign, course): the batch's campaign,
    and the other campaigns its shared credit counts in (an update that finds no row there,
    because the teacher is not enrolled, changes nothing)."""
    course_of = {(w.teacher_id, w.beat.resource_id): w.resource.course_id for w in writes}
    credits: dict[tuple[int, str, int], float] = {}
    for key, row in rows.items():
        if row.credit > 0:
            course = (key[0], campaign, course_of[key])
            credits[course] = credits.get(course, 0.0) + row.credit
            for (other, other_course), seconds in (row.shared or {}).items():
                there = (key[0], other, other_course)
                credits[there] = credits.get(there, 0.0) + seconds
    return credits


def _first_beat(session: Session, write: BeatWrite, clocks: dict) -> _Row | None:
    """Start the resource's clock: the new row, as the rest of the batch will see it; None
    if a concurrent first beat of the same resource (another PostgreSQL transaction) won.
    Reads (and on PostgreSQL locks) the teacher's study clock if the batch has not yet."""
    teacher_id, beat = write.teacher_id, write.beat
    account = session.execute(
        select(Teacher.token_version, Teacher.study_clock_at)
        .where(Teacher.id == teacher_id)
        .with_for_update()
    ).first()
    if account is None or account.token_version != write.token_version:
        raise ApiError(401, TOKEN_REVOKED)
    clocks.setdefault(teacher_id, _Clock(account.study_clock_at))
    course_id, campaign = write.resource.course_id, write.catalogue.name
    enrolled = session.scalar(
        select(CourseRow.id).where(
            CourseRow.teacher_id == teacher_id,
            CourseRow.campaign == campaign,
            CourseRow.course_id == course_id,
        )
    )
    if enrolled is None:
        raise ApiError(
            403, f"not enrolled in {campaign}; POST /api/v1/campaigns/{campaign}/enrol", reason="not_enrolled"
        )
    if write.now >= write.catalogue.rules.end_at:
        _refuse_closed(write.catalogue)
    try:
        with session.begin_nested():
            row_id = session.scalar(
                insert(ResourceRow)
                .values(
                    teacher_id=teacher_id,
                    campaign=campaign,
                    resource_id=beat.resource_id,
                    course_id=course_id,
                    watched_s=0.0,
                    position_s=beat.position_s,
                    last_seq=beat.seq,
                    last_beat_at=write.now,
                )
                .returning(ResourceRow.id)
            )
    except IntegrityError:
        return None
    return _Row(row_id, 0.0, beat.seq, write.now, beat.position_s, write.token_version)


def record_heartbeat(
    session: Session,
    catalogue: Catalogue,
    teacher_id: int,
    beat: Heartbeat,
    now: dt.datetime,
    token_version: int,
) -> HeartbeatResult:
    """Check, write and commit one beat in its own transaction (outside the committer)."""
    write = BeatWrite(catalogue, check_heartbeat(catalogue, beat, now), teacher_id, beat, now, token_version)
    (outcome,) = apply_heartbeats(session, [write])
    if isinstance(outcome, ApiError):
        session.rollback()
        raise outcome
    session.commit()
    session.info.pop("heartbeat_sql", None)  # its cursor belongs to the transaction's connection
    return outcome
