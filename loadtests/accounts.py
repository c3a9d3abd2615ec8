"""Who the simulated people are: pre-registered accounts, answers, and new teachers.

``accounts.csv`` (``mobile,password,teacher_id,school_id,province,sub_platform,role``) comes
from ``yanxiu seed --out`` for the reference platform, or from whoever prepared a staging
system. Returning teachers and administrators log in with these, taken in turn so that one
phone is not asked for SMS codes faster than the platform allows. New teachers (the model's
registrations) get fresh mobiles in a range seeding never uses (166…, not a Faker prefix)
and a well-formed resident ID number, unless ``--registrations`` names a file of mobiles to
register with (numbers a staging system routes to its test SMS gateway): then each is used
once, and a registration that finds none left is counted, not sent to a made-up number.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("mobile", "password", "teacher_id", "school_id", "province", "sub_platform", "role")
NEW_MOBILE_PREFIX = "166"
TEACHER = "teacher"
# the optional ``progress`` column (``yanxiu seed`` writes it): a teacher not enrolled in the
# campaign (his next session is his first: it enrols), enrolled and studying, or complete
NOT_ENROLLED, STUDYING, COMPLETE = "none", "studying", "complete"


class AccountsError(ValueError):
    """A fixtures file that cannot be used; str() names the option and file."""


@dataclass(frozen=True, slots=True)
class Account:
    mobile: str
    password: str
    teacher_id: int
    school_id: int | None
    province: str
    sub_platform: str
    role: str
    token: str = ""  # a session token issued before the test (optional column), for resumed sessions
    # the step a session the model has running at the stretch's start is in, and what it has left
    # (optional column, ``reference.seeding.in_session.InFlight``): such an account is a resumed session's
    resume: str = ""
    progress: str = ""  # NOT_ENROLLED, STUDYING, COMPLETE or "" (the file does not say)
    stage: int | None = None  # a studying teacher's credited courses (optional column ``stage``)


def load_accounts(path: str | Path) -> list[Account]:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = set(FIELDS[:2]) - set(reader.fieldnames or ())
            if missing:
                raise AccountsError(f"--accounts: {path}: missing column(s) {sorted(missing)}")
            return [_account(path, n, row) for n, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise AccountsError(f"--accounts: cannot read {path}: {exc.strerror}") from None


def _account(path: Path, line: int, row: dict[str, str]) -> Account:
    try:
        return Account(
            mobile=row["mobile"].strip(),
            password=row["password"],
            teacher_id=int(row.get("teacher_id") or 0),
            school_id=int(row["school_id"]) if row.get("school_id") else None,
            province=row.get("province") or "",
            sub_platform=row.get("sub_platform") or "basic",
            role=row.get("role") or TEACHER,
            token=(row.get("token") or "").strip(),
            resume=(row.get("resume") or "").strip(),
            progress=(row.get("progress") or "").strip(),
            stage=int(row["stage"]) if (row.get("stage") or "").strip() else None,
        )
    except ValueError as exc:
        raise AccountsError(f"--accounts: {path}: line {line}: {exc}") from None


def load_registrations(path: str | Path) -> list[str]:
    """Mobiles for new teachers, one column ``mobile``, each used once."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if "mobile" not in (reader.fieldnames or ()):
                raise AccountsError(f"--registrations: {path}: missing column 'mobile' "
                                    f"(header: {','.join(reader.fieldnames or ()) or 'empty'})")
            mobiles = [row["mobile"].strip() for row in reader if (row.get("mobile") or "").strip()]
    except OSError as exc:
        raise AccountsError(f"--registrations: cannot read {path}: {exc.strerror}") from None
    if not mobiles:
        raise AccountsError(f"--registrations: {path}: no mobiles")
    return mobiles


def load_answers(path: str | Path | None) -> dict[str, int]:
    """``{question_id: correct choice}``, ids as text (a target's ids may be UUIDs); empty when
    no file is given (staging may have none)."""
    if not path:
        return {}
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(q): int(a) for q, a in data.items()}
    except OSError as exc:
        raise AccountsError(f"--answers: cannot read {path}: {exc.strerror}") from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise AccountsError(f"--answers: {path}: expected {{question_id: choice}}: {exc}") from None


class Roster:
    """Accounts handed out in turn, teachers and administrators apart; one per process slice
    so that two processes of a distributed run do not share phones."""

    def __init__(self, accounts: list[Account], part: int = 0, parts: int = 1,
                 registrations: list[str] | None = None) -> None:
        # teachers and administrators sliced apart, so that every process gets some of each
        teachers = [a for a in accounts if a.role == TEACHER and not a.resume]
        admins = [a for a in accounts if a.role != TEACHER]
        # accounts seeded in a session (a ``resume`` step): the resumed sessions', none else's
        in_session = [a for a in accounts if a.role == TEACHER and a.resume]
        self.in_session = in_session[part::parts] or in_session
        self._in_session = _cycles(self.in_session)
        teachers = teachers or in_session
        self.teachers = teachers[part::parts] or teachers
        self.admins = admins[part::parts] or admins
        self._teachers = itertools.cycle(self.teachers) if self.teachers else None
        self._by_sub = _cycles(self.teachers)
        # by the teacher's state in the campaign (a file with the ``progress`` column): a model
        # session that is its teacher's first takes one not enrolled, any other one a teacher
        # enrolled and not done (the model's completers start no sessions)
        self._first = _cycles([a for a in self.teachers if a.progress == NOT_ENROLLED])
        self._later = _cycles([a for a in self.teachers if a.progress == STUDYING])
        # and a later one at the stage the model's session of its minute was at (``Plan._stages``),
        # each account once: one handed out again continues what its earlier session studied
        self._at_stage = _once_by_stage([a for a in self.teachers if a.progress == STUDYING])
        self._admins = itertools.cycle(self.admins) if self.admins else None
        self.part, self.parts = part, parts
        self._new = itertools.count()
        self._registrations = iter((registrations or [])[part::parts]) if registrations is not None else None

    def teacher(self, sub_platform: str | None = None, first: bool | None = None,
                stage: int | None = None) -> Account | None:
        """The next teacher, of ``sub_platform`` when the file has one of it. The session draws
        its sub-platform with the scenario's shares, as the model's teachers have them: the
        heartbeat interval differs 30-fold between sub-platforms, so an account file whose
        split differs from the scenario's (a few schools make it lumpy: 17% higher and
        vocational seeded against 20% planned) would move the replay's heartbeats with it.
        ``first``: the session is its teacher's first in the campaign (True) or a later one
        (False): one not enrolled, or one enrolled and not done, where the file says so (of
        any sub-platform when none of this one is left; any teacher when the file has none);
        a later one at ``stage`` credited courses of this sub-platform not yet handed out, while
        the file has one (then, as before, a studying one of the sub-platform: its beats matter
        more than its tests)."""
        pool = {True: self._first, False: self._later}.get(first) if first is not None else None
        fresh = self._at_stage.get((stage, sub_platform or "")) if first is False else None
        account = next(fresh, None) if fresh is not None else None
        if account is not None:
            return account
        if pool:
            return next(pool.get(sub_platform or "") or pool[""])
        mine = self._by_sub.get(sub_platform) if sub_platform is not None else None
        if mine is not None:
            return next(mine)
        return next(self._teachers) if self._teachers else None

    def resumed(self, sub_platform: str) -> Account | None:
        """The next account seeded in a session, of ``sub_platform`` when there is one (else of
        any); without such accounts (a file without ``resume``), the next teacher."""
        mine = self._in_session.get(sub_platform) or self._in_session.get("")
        return next(mine) if mine is not None else self.teacher(sub_platform)

    def admin(self) -> Account | None:
        return next(self._admins) if self._admins else None

    def new_mobile(self, run_base: int) -> str | None:
        """The next mobile of ``--registrations`` (None when used up), else a phone number no
        seeded account has: 166 and eight digits unique to this run."""
        if self._registrations is not None:
            return next(self._registrations, None)
        k = next(self._new) * self.parts + self.part
        return f"{NEW_MOBILE_PREFIX}{(run_base + k) % 10**8:08d}"


def taken_by(sessions: int, shares: dict[str, float]) -> dict[str, int]:
    """At most how many teachers of each sub-platform a run of ``sessions`` sessions takes from
    the start of its file: every session draws its sub-platform with the scenario's ``shares``
    (``TeacherJourney._sub_platform``), so each count is binomial; its mean plus three standard
    deviations (exceeded in about 0.1% of runs)."""
    return {sub: math.ceil(sessions * p + 3.0 * math.sqrt(sessions * p * (1.0 - p)))
            for sub, p in shares.items()}


def to_seed(needs: dict[str, int], shares: dict[str, float]) -> int:
    """How many accounts to seed so that, each one's sub-platform drawn with ``shares`` (as
    ``yanxiu seed`` draws every teacher's), each sub-platform has its ``needs`` in all but about
    0.1% of seedings: the least n whose binomial mean less three standard deviations covers
    every need (n p - 3 sqrt(n p (1 - p)) >= need, a quadratic in sqrt(n)). A resumed session
    that finds none of its sub-platform left shares an account with a running one, and two
    sessions of one account study the same courses."""
    n = 0
    for sub, need in needs.items():
        p = float(shares.get(sub, 0.0))
        if need <= 0:
            continue
        if p <= 0.0:
            raise AccountsError(f"sub-platform {sub!r}: needed by the replay, but the scenario seeds none")
        b = 3.0 * math.sqrt(p * (1.0 - p))
        root = (b + math.sqrt(b * b + 4.0 * p * need)) / (2.0 * p)
        n = max(n, math.ceil(root * root))
    return n


def write_untouched(source: str | Path, taken: dict[str, int], out: str | Path) -> dict[str, int]:
    """``source``'s accounts without the first ``taken[sub]`` teachers of each sub-platform, into
    ``out``; returns the teachers left per sub-platform. Every run's roster hands out teachers
    from the start of its file, so on a target that earlier runs used (bench_calibrate: its
    staircase, then its lower levels) those first ones have studied session after session: a
    replay that takes them finds its courses' tests unlocked or passed, and plays less than
    the model's sessions do. Administrators and accounts seeded in a session are kept."""
    with Path(source).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = list(reader.fieldnames or FIELDS), list(reader)
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        sub = row.get("sub_platform") or "basic"
        if (row.get("role") or TEACHER) == TEACHER and not (row.get("resume") or "").strip():
            seen[sub] = seen.get(sub, 0) + 1
            if seen[sub] <= taken.get(sub, 0):
                continue
        kept.append(row)
    with Path(out).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    return {sub: max(0, n - taken.get(sub, 0)) for sub, n in seen.items()}


def _once_by_stage(accounts: list[Account]) -> dict[tuple[int | None, str], Iterator[Account]]:
    """Accounts by (stage, sub-platform), each handed out once."""
    by_key: dict[tuple[int | None, str], list[Account]] = {}
    for account in accounts:
        if account.stage is not None:
            by_key.setdefault((account.stage, account.sub_platform), []).append(account)
    return {key: iter(mine) for key, mine in by_key.items()}


def _cycles(accounts: list[Account]) -> dict[str, Iterator[Account]]:
    """Accounts in turn by sub-platform; all of them in turn under ``""``."""
    by_sub: dict[str, list[Account]] = {}
    for account in accounts:
        by_sub.setdefault(account.sub_platform, []).append(account)
    cycles: dict[str, Iterator[Account]] = {sub: itertools.cycle(mine) for sub, mine in by_sub.items()}
    if accounts:
        cycles[""] = itertools.cycle(accounts)
    return cycles


def resident_id(serial: int) -> str:
    """A well-formed GB 11643 resident ID number (Beijing Dongcheng, a 1970-1999 birthday)."""
    from domain.identity import id_check_char

    year = 1970 + serial % 30
    month = 1 + (serial // 30) % 12
    day = 1 + (serial // 360) % 28
    first17 = f"110101{year:04d}{month:02d}{day:02d}{(serial // 10080) % 1000:03d}"
    return first17 + id_check_char(first17)
