"""The fault campaign's load and its bookkeeping: players that keep two plays going per teacher
(heartbeats over loopback, resent until answered, as the player does), an SMS sender, and the
checks that nothing acknowledged was lost and no study time was credited twice.

Every request try is logged (when, what, how it ended, how long it took), so the campaign can
cut the log into each fault's window afterwards. Loops are bounded in count and time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

RESOURCES = ("1.1", "1.2")  # two plays at once per teacher, both of course 1 (smoke scenario)
BEAT_EVERY_S = 0.25  # per play: 16 teachers x 2 plays offer up to 128 beats/s (small, bounded)
MAX_TRIES = 40  # one beat is sent at most this often (resends after errors and sheds)
TIMEOUT_S = 5.0  # the client's patience per request
EPS = 1e-6


@dataclass
class Attempt:
    at: float  # when the answer (or the error) came, time.monotonic()
    kind: str  # heartbeat | sms_send
    outcome: str  # ok | shed (429/503 with Retry-After) | error (other status) | timeout | refused (socket)
    latency_s: float
    status: int = 0  # the HTTP status; 0 when no answer came
    retry_after: str = ""  # the Retry-After header, if any


@dataclass
class Ack:
    seq: int
    recorded_s: float
    watched_s: float
    replay: bool
    at: float


@dataclass
class Play:
    token: str
    teacher_id: int
    resource_id: str
    acks: list[Ack] = field(default_factory=list)
    seq: int = 0
    position_s: float = 0.0
    first_sent: float | None = None
    last_at: float = 0.0


class Log:
    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)


def _outcome(status: int, headers) -> str:
    """A shed names its wait in whole seconds (RFC 9110's delay-seconds), not a date or a
    fraction; anything else that is not a 200/202 is an error."""
    if status in (200, 202):
        return "ok"
    if status in (429, 503) and headers.get("retry-after", "").isdigit():
        return "shed"
    return "error"


def send(client: httpx.Client, log: Log, kind: str, path: str, body: dict,
         headers: dict | None = None) -> httpx.Response | None:
    """One try, logged; None when no answer came (a timeout, a reset connection)."""
    started = time.monotonic()
    try:
        answer = client.post(path, json=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.TimeoutException:
        log.add(Attempt(time.monotonic(), kind, "timeout", time.monotonic() - started))
        return None
    except httpx.TransportError:
        log.add(Attempt(time.monotonic(), kind, "refused", time.monotonic() - started))
        return None
    log.add(Attempt(time.monotonic(), kind, _outcome(answer.status_code, answer.headers),
                    time.monotonic() - started, answer.status_code, answer.headers.get("retry-after", "")))
    return answer


def beat(client: httpx.Client, log: Log, play: Play, deadline: float) -> None:
    """Send the play's next beat and resend the same one until it is answered 200 (a refusal
    that is not a shed or a server fault ends it), at most ``MAX_TRIES`` times."""
    now = time.monotonic()
    if play.first_sent is None:
        play.first_sent = play.last_at = now
    elapsed = now - play.last_at  # the video plays at 1x between beats (also across resends)
    play.position_s, play.last_at = play.position_s + elapsed, now
    play.seq += 1
    body = {"resource_id": play.resource_id, "position_s": round(play.position_s, 3),
            "elapsed_s": round(elapsed, 3), "seq": play.seq}
    headers = {"Authorization": f"Bearer {play.token}"}
    for _ in range(MAX_TRIES):
        answer = send(client, log, "heartbeat", "/api/v1/progress/heartbeat", body, headers)
        if answer is not None and answer.status_code == 200:
            data = answer.json()
            play.acks.append(Ack(play.seq, data["recorded_s"], data["resource_watched_s"], data["replay"],
                                 time.monotonic()))
            return
        if answer is not None and answer.status_code < 500 and answer.status_code not in (409, 429):
            return  # refused for good (it says why): nothing to resend
        if time.monotonic() > deadline:
            return
        wait = answer.headers.get("retry-after") if answer is not None else None
        time.sleep(min(float(wait), 1.0) if wait else 0.1)


def player(base: str, log: Log, plays: list[Play], stop: threading.Event, deadline: float) -> None:
    """One teacher's plays, beat after beat, until ``stop`` (then one last beat each)."""
    with httpx.Client(base_url=base) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            for play in plays:
                beat(client, log, play, deadline)
            stop.wait(max(0.0, BEAT_EVERY_S - (time.monotonic() - started)))
        for play in plays:
            beat(client, log, play, deadline + 30)


@dataclass
class SmsBook:
    accepted: list[str] = field(default_factory=list)  # answered 202
    failed: list[str] = field(default_factory=list)  # answered 503 sms_gateway_unavailable


def sms_sender(base: str, log: Log, book: SmsBook, stop: threading.Event, deadline: float,
               first_mobile: int, every_s: float = 0.2) -> None:
    """A code for a new phone every ``every_s`` (registrations keep coming during a fault)."""
    mobile = first_mobile
    with httpx.Client(base_url=base) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            mobile += 1
            answer = send(client, log, "sms_send", "/api/v1/sms/send",
                          {"mobile": str(mobile), "purpose": "register"})
            if answer is not None and answer.status_code == 202:
                book.accepted.append(str(mobile))
            elif answer is not None and answer.status_code == 503:
                book.failed.append(str(mobile))
            stop.wait(every_s)


# --- checks -------------------------------------------------------------------------------


@dataclass
class Ledger:
    """Acknowledged heartbeats against what the database holds."""

    acked: int = 0  # answered 200, first time (not a replay)
    replays: int = 0  # answered 200 as a replay: the beat had been written, its answer lost
    lost: list[tuple[float, str]] = field(default_factory=list)  # (when acked, what)
    unacked_written: int = 0  # written but never answered (a crash between commit and answer)


def check_plays(plays: list[Play], rows: dict[tuple[int, str], tuple[float, int]]) -> Ledger:
    """Each play's answers form a chain: an answer's ``resource_watched_s`` minus what it
    recorded is the total before it, which cannot be below the previous answer's total (that
    would be an acknowledged write lost) and is above it only if a beat in between was written
    without its answer. The database's row must hold at least the last answer's total and seq."""
    ledger = Ledger()
    for play in plays:
        previous = 0.0
        for ack in play.acks:
            ledger.replays += ack.replay
            ledger.acked += not ack.replay
            before = ack.watched_s - ack.recorded_s
            if before < previous - EPS:
                ledger.lost.append((ack.at, f"teacher {play.teacher_id} {play.resource_id} seq {ack.seq}: "
                                            f"total {before:.3f} before it, {previous:.3f} acknowledged"))
            elif before > previous + EPS:
                ledger.unacked_written += 1
            previous = ack.watched_s
        watched, seq = rows.get((play.teacher_id, play.resource_id), (0.0, 0))
        last = play.acks[-1] if play.acks else None
        if last is not None and (seq < last.seq or watched < last.watched_s - EPS):
            ledger.lost.append((last.at, f"teacher {play.teacher_id} {play.resource_id}: database at seq "
                                         f"{seq} / {watched:.3f} s, acknowledged seq {last.seq} / "
                                         f"{last.watched_s:.3f} s"))
    return ledger


def double_credit(plays: list[Play], rows: dict, studied: dict[int, float]) -> list[str]:
    """Study time credited twice: a teacher's plays together credited more than the time he
    played (one study clock), or his course total not the sum of its resources."""
    found = []
    by_teacher: dict[int, list[Play]] = {}
    for play in plays:
        by_teacher.setdefault(play.teacher_id, []).append(play)
    for teacher, his in by_teacher.items():
        credited = sum(rows.get((teacher, p.resource_id), (0.0, 0))[0] for p in his)
        starts = [p.first_sent for p in his if p.first_sent is not None]
        ends = [p.acks[-1].at for p in his if p.acks]
        span = (max(ends) - min(starts)) if starts and ends else 0.0
        if credited > span + 1.0:
            found.append(f"teacher {teacher}: {credited:.1f} s credited in {span:.1f} s of play")
        if abs(studied.get(teacher, 0.0) - credited) > 1e-3:
            found.append(f"teacher {teacher}: course total {studied.get(teacher, 0.0):.3f} s, "
                         f"resources {credited:.3f} s")
    return found
