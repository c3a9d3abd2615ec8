"""``yanxiu seed``: fill the reference platform with schools, teachers and administrators that
look real, and write the fixtures load tests log in with (``accounts.csv``, ``answers.json``).

Scale: a million teachers take well under a minute to generate (numpy, no per-person Faker
calls) and load (one bulk transaction: executemany on SQLite, COPY on PostgreSQL).
Passwords: every seeded account shares one password, so it is hashed ONCE (argon2id with the
server's settings) and that one hash string is stored for all of them. That is honest for
load-test accounts (the login cost per request is unchanged: the server still verifies a
full argon2 hash) but it is not how real accounts look: equal passwords would give different
salts and hashes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from domain.rules import RuleTables
from reference.bootstrap import bootstrap
from reference.catalogue import Catalogue
from reference.certificates import issue_certificates
from reference.db import Database
from reference.models import Question, School, Teacher
from reference.security import TokenSigner, hash_password, password_hasher
from reference.seeding.bulk import db_constant, load_rows
from reference.seeding.identity import area_codes, draw_people
from reference.seeding.progress import NOT_ENROLLED, fallback_shares, shares_from_results
from reference.seeding.regions import province_prefix
from reference.seeding.schools import (
    SUB_PLATFORMS,
    SchoolPlan,
    assign_schools,
    plan_schools,
    school_counts,
)
from reference.seeding.study_rows import load_progress
from reference.settings import Settings

DEFAULT_PASSWORD = "Yanxiu@2023"
ACCOUNT_FIELDS = (
    "mobile",
    "password",
    "teacher_id",
    "school_id",
    "province",
    "sub_platform",
    "role",
    "token",
    "resume",
    "progress",
    "stage",
)
HOME_PROVINCE_SHARE = 0.9  # estimate: share of teachers whose ID was issued where they teach
ID_TYPE = "resident_id"


class SeedError(ValueError):
    """The database cannot be seeded as asked; str() says why."""



@dataclass
class Accounts:
    """Columns of the accounts to create, index-aligned; teachers first, then administrators."""

    role: list[str]
    school: np.ndarray  # index into the school plan, -1 for none
    province: list[str]
    county: list[str]
    sub_platform: list[str]


@dataclass
class SeedReport:
    teachers: int
    accounts_by_role: dict[str, int]
    schools: int
    counties: int
    seconds: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)  # teachers per stage (--progress-at)
    progress_source: str = ""

    def summary(self) -> str:
        roles = ", ".join(f"{n:,} {r}" for r, n in self.accounts_by_role.items())
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        total = sum(self.seconds.values())
        rate = self.teachers / total if total else float("inf")
        lines = [f"seeded {self.schools:,} schools in {self.counties:,} counties; {roles}",
                 f"time: {phases}; total {total:.1f} s = {rate:,.0f} teachers/s"]
        if self.progress:
            stages = ", ".join(f"{n:,} {k}" for k, n in sorted(self.progress.items()))
            lines.append(f"progress: {stages} (shares from {self.progress_source})")
        return "\n".join(lines)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("schools", "assign", "admins", "people", "progress")  # new streams go last
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def plan_accounts(
    catalogue: Catalogue,
    teachers: int,
    rngs: dict[str, np.random.Generator],
    per_school_admins: float,
) -> tuple[SchoolPlan, Accounts]:
    """Schools, and each account's role, school, province, county and sub-platform: teachers
    spread by province weight and sub-platform share, bigger schools drawing more of them."""
    pop = catalogue.scenario.population
    provinces = catalogue.provinces
    weights = np.array([p.weight for p in pop.provinces], dtype=float)
    shares: dict[str, float] = {str(s): share for s, share in pop.sub_platforms.items()}
    counts = school_counts(teachers, pop.teachers, pop.schools, shares, len(provinces))
    plan = plan_schools(rngs["schools"], provinces, weights, counts)
    rng = rngs["assign"]
    subs = np.array([shares.get(s, 0.0) for s in SUB_PLATFORMS])
    sub_idx = rng.choice(3, size=teachers, p=subs / subs.sum())
    prov_idx = rng.choice(len(provinces), size=teachers, p=weights / weights.sum())
    school = assign_schools(rng, plan, sub_idx, prov_idx, provinces)
    return plan, _with_admins(plan, school, rngs["admins"], per_school_admins)


def _with_admins(
    plan: SchoolPlan, school: np.ndarray, rng: np.random.Generator, per_school: float
) -> Accounts:
    """Teachers plus administrators: ``per_school`` on average per school (the fraction drawn),
    one per county and one per province."""
    whole, extra = divmod(per_school, 1.0)
    per = int(whole) + (rng.random(len(plan.names)) < extra).astype(np.int64)
    admin_school = np.repeat(np.arange(len(plan.names)), per)
    staff = np.concatenate([school, admin_school])
    province = [plan.province[i] for i in staff.tolist()]
    county = [plan.county[i] for i in staff.tolist()]
    sub = [plan.sub_platform[i] for i in staff.tolist()]
    role = ["teacher"] * len(school) + ["school_admin"] * len(admin_school)
    # County and province administrators sit above the schools: no school, basic education
    # (the county bureaus run it), and a province administrator has no county.
    for prov, names in plan.counties.items():
        for name, kind in [*((n, "county_admin") for n in names), ("", "province_admin")]:
            province.append(prov)
            county.append(name)
            sub.append("basic")
            role.append(kind)
    tail = len(role) - len(staff)
    return Accounts(role, np.concatenate([staff, np.full(tail, -1)]), province, county, sub)


def _area_index(
    rng: np.random.Generator, provinces: list[str], account_provinces: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Each account's ID area code: mostly in the province where he works."""
    table = np.sort(area_codes())  # sorted, so each province's codes are contiguous
    prefixes = table.astype("U2")
    lo, size = {}, {}
    for name in provinces:
        code = province_prefix(name)
        hits = np.flatnonzero(prefixes == code) if code else np.empty(0, dtype=np.int64)
        lo[name], size[name] = (int(hits[0]), len(hits)) if len(hits) else (0, len(table))
    los = np.array([lo[p] for p in account_provinces])
    sizes = np.array([size[p] for p in account_provinces])
    home = los + (rng.random(len(los)) * sizes).astype(np.int64)
    away = rng.integers(0, len(table), size=len(los))
    return table, np.where(rng.random(len(los)) < HOME_PROVINCE_SHARE, home, away)


def _existing(db: Database) -> tuple[int, int]:
    """(accounts, highest school id) already in the database."""
    with db.session(write=False) as session:
        accounts = session.scalar(select(func.count()).select_from(Teacher)) or 0
        top = session.scalar(select(func.max(School.id))) or 0
    return int(accounts), int(top)


def seed_platform(
    db: Database,
    catalogue: Catalogue,
    settings: Settings,
    teachers: int,
    seed: int,
    out: Path | None = None,
    password: str = DEFAULT_PASSWORD,
    say: Callable[[str], None] = lambda _: None,
    progress_at: dt.datetime | None = None,
    model_results: Path | None = None,
    resumed: int = 0,
) -> SeedReport:
    """Create the schools and accounts of ``teachers`` teachers in an empty database; with
    ``progress_at``, the study progress the model predicts at that instant
    (``reference.seeding.progress``, shares from ``model_results`` if given); the last ``resumed``
    teachers in a session at that instant (``reference.seeding.in_session``), for a load test
    that resumes the model's sessions."""
    if teachers < 1:
        raise SeedError(f"--teachers: must be at least 1 (got {teachers})")
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[phase] = now - clock
        clock = now
        say(f"  {phase}: {seconds[phase]:.1f} s")

    bootstrap(db, catalogue)
    accounts_before, top_school = _existing(db)
    if accounts_before:
        raise SeedError(
            f"database already holds {accounts_before:,} accounts; "
            "seed a fresh database (or drop its tables first)"
        )
    rngs = _streams(seed)
    in_flight: dict[int, str] = {}  # teacher id -> the step a resumed session finishes
    # teacher id -> progress.status; without --progress-at no teacher has joined the campaign
    status: dict[int, str] = dict.fromkeys(range(1, teachers + 1), NOT_ENROLLED)
    stages: dict[int, int] = {}  # teacher id -> credited courses, of those who started
    per_school = catalogue.scenario.behaviour.administrators.per_school
    plan, accounts = plan_accounts(catalogue, teachers, rngs, per_school)
    area_table, area_index = _area_index(rngs["people"], catalogue.provinces, accounts.province)
    people = draw_people(rngs["people"], area_table, area_index, catalogue.rules.start_at.date())
    lap("generate")
    password_hash = hash_password(password_hasher(settings), password)
    lap("hash (once)")
    school_ids = np.arange(top_school + 1, top_school + 1 + len(plan.names))
    _load_schools(db, plan, school_ids)
    account_school = np.where(accounts.school >= 0, school_ids[accounts.school], 0)
    _load_accounts(db, catalogue, accounts, people, account_school, password_hash)
    lap("insert")
    report = SeedReport(
        teachers=teachers,
        accounts_by_role={
            r: accounts.role.count(r) for r in ("teacher", "school_admin", "county_admin", "province_admin")
        },
        schools=len(plan.names),
        counties=sum(len(v) for v in plan.counties.values()),
        seconds=seconds,
    )
    if progress_at is not None:
        shares = (shares_from_results(model_results, catalogue.rules, progress_at) if model_results
                  else fallback_shares(RuleTables(catalogue.rules, catalogue.scenario), progress_at))
        report.progress = load_progress(db, catalogue, teachers, progress_at, shares, rngs["progress"],
                                        resumed, in_flight, model_results, status, stages)
        report.progress_source = shares.source
        if catalogue.rules.at(progress_at) >= catalogue.rules.certificates_at:
            # after the batch date completers hold their certificates, as after the real batch
            report.progress["certified"] = issue_certificates(db, catalogue, progress_at).issued
        lap("progress")
    if out is not None:
        report.files = write_fixtures(db, catalogue, out, accounts, people.mobiles, account_school, password,
                                      _tokens(settings, accounts.role), in_flight, status, stages)
        lap("files")
    return report


def _load_schools(db: Database, plan: SchoolPlan, ids: np.ndarray) -> None:
    table = School.__table__
    temporary = db_constant(db, table, "temporary", False)
    rows = zip(
        ids.tolist(),
        plan.names,
        plan.province,
        plan.county,
        plan.sub_platform,
        [temporary] * len(ids),
        strict=True,
    )
    load_rows(db, table, ("id", "name", "province", "county", "sub_platform", "temporary"), rows)


def _load_accounts(
    db: Database,
    catalogue: Catalogue,
    accounts: Accounts,
    people,
    school_ids: np.ndarray,
    password_hash: str,
) -> None:
    table = Teacher.__table__
    n = len(accounts.role)
    verified = db_constant(db, table, "verified", False)
    created = db_constant(db, table, "created_at", catalogue.rules.start_at)
    schools = [s or None for s in school_ids.tolist()]
    columns = (
        "id",
        "mobile",
        "password_hash",
        "real_name",
        "id_type",
        "id_number",
        "sub_platform",
        "school_id",
        "province",
        "county",
        "role",
        "verified",
        "created_at",
    )
    rows = zip(
        range(1, n + 1),
        people.mobiles,
        [password_hash] * n,
        people.names,
        [ID_TYPE] * n,
        people.id_numbers,
        accounts.sub_platform,
        schools,
        accounts.province,
        accounts.county,
        accounts.role,
        [verified] * n,
        [created] * n,
        strict=True,
    )
    load_rows(db, table, columns, rows)


def _tokens(settings: Settings, roles: list[str]) -> list[str]:
    """A session token per account (account ids are 1..n, in order), when the server's secret
    was given (``YANXIU_SECRET``): a load test resumes with it a session that the model had
    signed in before the replayed stretch, without a login the model does not have. With a
    secret made up for this process alone a token would be refused, so none is written."""
    if "secret" not in settings.model_fields_set:
        return [""] * len(roles)
    signer = TokenSigner(settings.secret, settings.token_ttl_s)
    return [signer.issue(account_id, role) for account_id, role in enumerate(roles, start=1)]


def write_fixtures(
    db: Database,
    catalogue: Catalogue,
    out: Path,
    accounts: Accounts,
    mobiles: list[str],
    school_ids: np.ndarray,
    password: str,
    tokens: list[str] | None = None,
    in_flight: dict[int, str] | None = None,
    status: dict[int, str] | None = None,
    stages: dict[int, int] | None = None,
) -> list[Path]:
    """``accounts.csv`` and ``answers.json`` as docs/api.md describes them; ``resume`` holds the
    step in flight of a teacher seeded in a session (``in_flight``, by account id), ``progress``
    a teacher's state in the campaign (``status``: not enrolled, studying or complete), which
    the load test's roster hands out by (a first session takes one not enrolled), ``stage`` a
    started teacher's credited courses (``stages``: a later session takes one at its stage)."""
    out.mkdir(parents=True, exist_ok=True)
    accounts_csv = out / "accounts.csv"
    n = len(mobiles)
    with accounts_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_FIELDS)
        writer.writerows(
            zip(
                mobiles,
                [password] * n,
                range(1, n + 1),
                [s or "" for s in school_ids.tolist()],
                accounts.province,
                accounts.sub_platform,
                accounts.role,
                tokens or [""] * n,
                [(in_flight or {}).get(i, "") for i in range(1, n + 1)],
                [(status or {}).get(i, "") for i in range(1, n + 1)],
                [(stages or {}).get(i, "") for i in range(1, n + 1)],
                strict=True,
            )
        )
    answers_json = out / "answers.json"
    with db.session(write=False) as session:
        # every bank in the database: a platform scenario's campaigns each have one (question
        # ids are unique across them, so the load test passes any campaign's tests)
        answers = session.execute(select(Question.id, Question.answer).order_by(Question.id)).all()
    answers_json.write_text(json.dumps({str(qid): answer for qid, answer in answers}, indent=1))
    return [accounts_csv, answers_json]
