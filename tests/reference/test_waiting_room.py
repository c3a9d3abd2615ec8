"""The login waiting room: logins past its rate are queued with a position and a signed
ticket (429, Retry-After in real seconds), admitted in their turn ahead of newcomers; forged,
foreign and expired tickets hold no place; a full room answers 503 without reserving; the
load-test client follows the queue to a login."""

from __future__ import annotations

import pytest

from reference.errors import ApiError
from reference.waiting_room import ROOM, TICKET_GRACE_S, WaitingRoom
from tests.reference.conftest import PASSWORD, SECRET


class _Time:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _queued(room: WaitingRoom, mobile: str, ticket: str | None = None) -> dict:
    with pytest.raises(ApiError) as refused:
        room.admit(mobile, ticket)
    assert refused.value.status == 429 and refused.value.extra["queued"] is True
    return refused.value.extra


def test_a_burst_past_the_rate_is_queued_in_order_and_admitted_in_turn():
    time = _Time()
    room = WaitingRoom(rate=2, secret=SECRET, now=time)
    for mobile in ("13900000001", "13900000002", "13900000003"):  # slots now, +0.5, +1.0: a second's worth
        room.admit(mobile, None)
    first = _queued(room, "13900000004")
    second = _queued(room, "13900000005")
    assert (first["queue_position"], second["queue_position"]) == (3, 4)
    assert (first["retry_after_s"], second["retry_after_s"]) == (2, 2)
    # Back too early: the same place, and no slot taken from those behind.
    assert _queued(room, "13900000004", first["ticket"])["queue_position"] == 3
    assert _queued(room, "13900000006")["queue_position"] == 5
    time.now += 1.0  # its slot is at +1.5; half a second early is let in (EARLY_S)
    room.admit("13900000004", first["ticket"])  # its turn: in, without a new slot
    with pytest.raises(ApiError):
        room.admit("13900000005", second["ticket"])  # not yet: its slot is at +2.0
    time.now += 0.5
    room.admit("13900000005", second["ticket"])
    assert _queued(room, "13900000007")["queue_position"] == 3  # behind 13900000006 (slot +3.0)


def test_forged_foreign_and_expired_tickets_hold_no_place():
    time = _Time()
    room = WaitingRoom(rate=1, secret=SECRET, now=time)
    room.admit("13900000001", None)
    room.admit("13900000002", None)
    ticket = _queued(room, "13900000003")["ticket"]
    slot, _, signature = ticket.rpartition(".")
    forgeries = (f"{float(slot) - 100:.3f}.{signature}", ticket + "x", "garbage", ".", ticket.upper())
    positions = [_queued(room, "13900000003", forged)["queue_position"] for forged in forgeries]
    assert positions == [3, 4, 5, 6, 7]  # each the back of the queue, as a newcomer
    assert _queued(room, "13900000009", ticket)["queue_position"] == 8  # another mobile's ticket
    other = WaitingRoom(rate=1, secret="another-secret-0123456789", now=time)
    time.now += 2
    other.admit("13900000001", None)
    other.admit("13900000002", None)
    assert _queued(other, "13900000003", ticket)["queue_position"] == 2  # another secret's ticket
    room.admit("13900000003", ticket)  # the real one, in its turn
    time.now += TICKET_GRACE_S + 30  # long past its slot: expired; the queue is empty again
    before = ROOM.labels("ticket_admitted")._value.get()
    room.admit("13900000003", ticket)
    assert ROOM.labels("ticket_admitted")._value.get() == before  # admitted as a newcomer


def test_a_full_room_answers_503_and_reserves_nothing():
    time = _Time()
    room = WaitingRoom(rate=1, secret=SECRET, max_wait_s=5, now=time)
    positions = []
    for n in range(8):
        try:
            room.admit(f"1390000000{n}", None)
        except ApiError as refused:
            extra = refused.extra
            positions.append((refused.status, extra.get("queue_position"), extra.get("reason")))
    assert positions[:4] == [(429, 2, None), (429, 3, None), (429, 4, None), (429, 5, None)]
    assert positions[4:] == [(503, None, "room_full")] * 2
    time.now += 6  # the queue drained: a newcomer is admitted at once
    room.admit("13900000010", None)


def test_the_login_route_queues_over_http_and_the_load_test_client_follows(app, client, platform):
    from loadtests.adapters import QUEUE_TICKET_HEADER, Client, Target
    from loadtests.adapters.reference import ReferenceAdapter
    from loadtests.routes import route_table

    school = platform.school()
    teachers = [platform.register(school) for _ in range(4)]
    time = _Time()
    state = app.state.yanxiu
    state.waiting_room = WaitingRoom(rate=1, secret=SECRET, now=time)
    logins = [client.post("/api/v1/auth/login", json={"mobile": t["mobile"], "password": PASSWORD})
              for t in teachers[:3]]
    assert [r.status_code for r in logins] == [200, 200, 429]
    queued = logins[2]
    assert queued.headers["retry-after"] == "2" and queued.json()["queue_position"] == 2
    assert "token" not in queued.json()
    again = client.post("/api/v1/auth/login", json={"mobile": teachers[2]["mobile"], "password": PASSWORD},
                        headers={QUEUE_TICKET_HEADER: queued.json()["ticket"]})
    assert again.status_code == 429  # too early
    time.now += 2
    admitted = client.post("/api/v1/auth/login", json={"mobile": teachers[2]["mobile"], "password": PASSWORD},
                           headers={QUEUE_TICKET_HEADER: queued.json()["ticket"]})
    assert admitted.status_code == 200 and admitted.json()["teacher_id"] == teachers[2]["teacher_id"]
    wrong = client.post("/api/v1/auth/login",
                        json={"mobile": teachers[2]["mobile"], "password": "wrong one 1"},
                        headers={QUEUE_TICKET_HEADER: queued.json()["ticket"]})
    assert wrong.status_code == 401  # a ticket admits to the check, it does not pass it
    assert 'yanxiu_waiting_room_total{outcome="queued"}' in client.get("/metrics").text

    # The load-test client: queued answers are expected, it waits and sends the ticket back.
    client.post("/api/v1/auth/login", json={"mobile": teachers[0]["mobile"], "password": PASSWORD})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.now += seconds

    http = _LocustLike(client)
    target = Target("smoke", (1, 2), "000000", route_table(), "http://testserver")
    adapter = ReferenceAdapter(Client(http, sleep=sleep), target)

    class Account:
        mobile, teacher_id = teachers[3]["mobile"], teachers[3]["teacher_id"]

    assert adapter.log_in(Account(), password=PASSWORD)
    assert adapter.token and waits and http.statuses[-1] == 200 and 429 in http.statuses
    assert http.failures == []


class _LocustLike:
    """The Locust client's request(), with catch_response, over a TestClient."""

    def __init__(self, client) -> None:
        self.client, self.statuses, self.failures = client, [], []

    def request(self, method, url, name=None, json=None, headers=None, catch_response=False):
        resp = self.client.request(method, url, json=json, headers=headers)
        self.statuses.append(resp.status_code)
        outer = self

        class Caught:
            status_code, headers, content = resp.status_code, resp.headers, resp.content

            def json(self):
                return resp.json()

            def success(self):
                pass

            def failure(self, reason):
                outer.failures.append(reason)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        return Caught()
