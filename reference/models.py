"""Tables of the reference platform (SQLAlchemy 2.0, the same on SQLite and PostgreSQL).

Instants are stored as UTC (``UTCDateTime``: naive UTC in the column, aware UTC in Python);
they are *campaign-clock* instants (see ``reference.clock``), not wall-clock ones.
Campaign rules are never stored: courses, resources and durations come from the scenario
file at run time (``domain.campaign``); rows only say what each teacher did.

Tables
- ``schools``: id, name, province, county, sub_platform (basic|higher|vocational) and
  ``temporary`` (the "other / temporary unit" of a province and sub-platform; the server
  creates one per scenario province and sub-platform at start-up).
- ``teachers``: every account, teachers and administrators alike. ``role`` is ``teacher``,
  ``school_admin``, ``county_admin`` or ``province_admin``; an administrator's scope is his
  school (school_id), county (province + county) or province. ``province``/``county`` are copied
  from the school when it is set, so scoping needs no join. ``school_id`` is NULL after a school
  administrator removed the teacher. ``verified`` locks the profile. ``token_version`` is in
  every token issued; a removal raises it, which revokes the teacher's tokens. ``password_hash`` is an
  argon2 hash string (``reference.security.hash_password``).
- ``sms_codes``: issued verification codes (mobile, purpose register|login|reset, code,
  created_at, expires_at, attempts = wrong entries so far, used).
- ``sms_messages``: the recording SMS gateway: every text "sent" (mobile, text, sent_at).
- ``enrolments``: (teacher_id, campaign) unique, enrolled_at. Enrolment also creates one
  ``course_progress`` row per course of the campaign.
- ``course_progress``: per teacher, campaign and course: studied_s (credited study seconds,
  keeps growing after the credit cap), attempts, test_passed, passed_at.
- ``resource_progress``: per teacher, campaign and resource (resource ids are unique within a
  campaign): watched_s (credited seconds), position_s, last_seq and last_beat_at of the last
  accepted heartbeat (the anti-spoofing state).
- ``questions``: the test bank, per campaign and course: number (1..n), text, choices (JSON list
  of strings), answer (index of the right choice). Filled at start-up by
  ``reference.bootstrap`` (deterministic from the scenario seed) when a course has none;
  ``answers.json`` for load tests is read from here.
- ``test_attempts``: every submitted attempt (attempt number, correct, questions, passed).
- ``certificates``: (teacher_id, campaign) unique, serial unique, credited_hours, issued_at;
  written by the batch command after the window.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC out; stored naive UTC so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (Index("ix_schools_sub_province", "sub_platform", "province", "temporary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(32))
    county: Mapped[str] = mapped_column(String(64))
    sub_platform: Mapped[str] = mapped_column(String(16))
    temporary: Mapped[bool] = mapped_column(Boolean, default=False)


class Teacher(Base):
    __tablename__ = "teachers"
    __table_args__ = (Index("ix_teachers_province_county", "province", "county"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    real_name: Mapped[str] = mapped_column(String(50))
    id_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(32))
    sub_platform: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    province: Mapped[str] = mapped_column(String(32))
    county: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="teacher")
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Tokens carry the version they were issued under; raising it revokes them all.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # One study clock per teacher: the instant up to which any of his plays has been credited
    # (domain.campaign.Campaign.play_credit), so plays open at once are credited once.
    study_clock_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, default=None)


class SmsCode(Base):
    __tablename__ = "sms_codes"
    __table_args__ = (Index("ix_sms_codes_mobile_created", "mobile", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class SmsMessage(Base):
    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mobile: Mapped[str] = mapped_column(String(11), index=True)
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("teacher_id", "campaign"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    campaign: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CourseProgress(Base):
    __tablename__ = "course_progress"
    __table_args__ = (UniqueConstraint("teacher_id", "campaign", "course_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    campaign: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[int] = mapped_column(Integer)
    studied_s: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    test_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    passed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ResourceProgress(Base):
    __tablename__ = "resource_progress"
    __table_args__ = (UniqueConstraint("teacher_id", "campaign", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    campaign: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(32))
    course_id: Mapped[int] = mapped_column(Integer)
    watched_s: Mapped[float] = mapped_column(Float, default=0.0)
    position_s: Mapped[float] = mapped_column(Float, default=0.0)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("campaign", "course_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[int] = mapped_column(Integer)


class Attempt(Base):
    __tablename__ = "test_attempts"
    __table_args__ = (Index("ix_test_attempts_teacher", "teacher_id", "campaign", "course_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    campaign: Mapped[str] = mapped_column(String(64))
    course_id: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    questions: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("teacher_id", "campaign"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("teachers.id"))
    campaign: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    credited_hours: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
