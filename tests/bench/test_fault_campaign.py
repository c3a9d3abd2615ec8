"""The fault campaign's checks catch what they are for (an acknowledged write lost, study time
credited twice, a 500 or a hang while a fault is on), a fault is lifted whatever happens, and
the campaign itself runs clean on SQLite (slow: about 45 s) and through a real PostgreSQL
restart (slow, root and a Debian cluster only: the server is down about 7 s)."""

from __future__ import annotations

import pytest

from bench import faults
from bench.fault_campaign import Row, _measure, row_findings, run_fault
from bench.fault_load import Ack, Attempt, Log, Play, _outcome, check_plays, double_credit


def _play(acks: list[tuple[int, float, float, bool]], teacher: int = 1, resource: str = "1.1") -> Play:
    play = Play("token", teacher, resource, first_sent=0.0)
    play.acks = [Ack(seq, recorded, watched, replay, at=float(seq))
                 for seq, recorded, watched, replay in acks]
    return play


def test_a_chain_of_answers_that_the_database_holds_loses_nothing():
    play = _play([(1, 0.0, 0.0, False), (2, 0.5, 0.5, False), (3, 0.5, 1.0, False)])
    ledger = check_plays([play], {(1, "1.1"): (1.0, 3)})
    assert (ledger.acked, ledger.lost, ledger.unacked_written) == (3, [], 0)


def test_an_acknowledged_write_that_the_next_answer_does_not_build_on_is_lost():
    # seq 2 answered with a total of 0.5, but seq 3's total says it started from 0.0
    play = _play([(1, 0.0, 0.0, False), (2, 0.5, 0.5, False), (3, 0.5, 0.5, False)])
    assert len(check_plays([play], {(1, "1.1"): (0.5, 3)}).lost) == 1


def test_a_database_behind_the_last_answer_lost_it():
    play = _play([(1, 0.0, 0.0, False), (2, 0.5, 0.5, False)])
    assert len(check_plays([play], {(1, "1.1"): (0.0, 1)}).lost) == 1
    assert len(check_plays([play], {}).lost) == 1


def test_a_beat_written_without_its_answer_is_counted_not_lost():
    # seq 2's answer never came; its resend was a replay; seq 3 builds on seq 2's credit
    play = _play([(1, 0.0, 0.0, False), (2, 0.0, 0.5, True), (3, 0.5, 1.0, False)])
    ledger = check_plays([play], {(1, "1.1"): (1.0, 3)})
    assert (ledger.lost, ledger.unacked_written, ledger.replays) == ([], 1, 1)


def test_two_plays_crediting_more_than_the_time_played_is_double_credit():
    plays = [_play([(1, 0.0, 0.0, False), (5, 2.0, 4.0, False)], resource=r) for r in ("1.1", "1.2")]
    fair = {(1, "1.1"): (2.0, 5), (1, "1.2"): (2.0, 5)}
    assert double_credit(plays, fair, {1: 4.0}) == []
    twice = {(1, "1.1"): (4.0, 5), (1, "1.2"): (4.0, 5)}  # each play credited the whole 5 s span
    assert len(double_credit(plays, twice, {1: 8.0})) == 1
    assert len(double_credit(plays, fair, {1: 6.0})) == 1  # the course total is not the sum


@pytest.mark.slow
def test_the_campaign_loses_nothing_on_sqlite(capsys):
    from bench.fault_campaign import main

    assert main(["--backends", "sqlite", "--teachers", "4", "--fault-s", "1"]) == 0
    out = capsys.readouterr().out
    assert "kill -9 worker" in out and "SMS gateway failing" in out and " 0 lost" in out


def test_a_shed_names_its_wait_in_whole_seconds():
    assert _outcome(503, {"retry-after": "1"}) == "shed"
    assert _outcome(429, {"retry-after": "30"}) == "shed"
    assert _outcome(503, {}) == "error"  # no wait given: the client cannot act on it
    assert _outcome(503, {"retry-after": "0.5"}) == "error"
    assert _outcome(500, {"retry-after": "1"}) == "error"
    assert _outcome(202, {}) == "ok"


class _Held(faults.Fault):
    name = "held"

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.lifted = fail, 0

    def inject(self) -> None:
        if self.fail:
            raise RuntimeError("inject failed half-way")

    def lift(self) -> None:
        self.lifted += 1


def test_a_fault_is_lifted_even_when_its_injection_fails(monkeypatch):
    monkeypatch.setattr("bench.fault_campaign.BASELINE_S", 0.0)
    fault = _Held(fail=True)
    with pytest.raises(RuntimeError):
        run_fault(fault, Log(), "sqlite", 0.01)
    assert fault.lifted == 1
    fault = _Held()
    row, started, ended = run_fault(fault, Log(), "sqlite", 0.01)
    assert fault.lifted == 1 and started < ended and row.fault == "held"


def test_the_fault_window_is_measured_from_when_the_fault_was_over():
    fault = _Held()
    tries = [Attempt(10.5, "heartbeat", "shed", 0.01, 503, "1"),
             Attempt(11.0, "heartbeat", "error", 0.02, 500),
             Attempt(11.5, "sms_send", "shed", 0.01, 503, "2"),
             Attempt(12.0, "heartbeat", "error", 0.01, 409),  # a refusal, not a server fault
             Attempt(12.5, "heartbeat", "ok", 0.03, 200),  # after the lifting at 12.2
             Attempt(13.0, "heartbeat", "shed", 0.01, 503, "1"),
             Attempt(14.0, "heartbeat", "ok", 0.01, 200)]
    row = _measure(fault, tries, "postgres", (10.0, 12.2, 15.0))
    assert (row.during, row.during_failed, row.unsafe, row.retry_after) == (4, 4, 1, "1,2")
    assert row.held_s == pytest.approx(2.2) and row.first_ok_s == pytest.approx(0.3)
    assert row.recover_s == pytest.approx(0.8)  # the last failure after the lifting
    assert (row.beats, row.beats_failed, row.sms, row.sms_failed) == (6, 4, 1, 1)
    assert row_findings([row]) == [
        "postgres held: 1 answers 5xx without a Retry-After in seconds while it was on"]
    row.unsafe, row.timeouts, row.first_ok_s = 0, 2, -1.0
    assert [f.split(": ")[1][:24] for f in row_findings([row])] == ["2 requests unanswered wi",
                                                                    "no heartbeat answered 20"]
    assert row_findings([Row("sqlite", "PostgreSQL restart", note="n/a")]) == []


def test_only_root_restarts_the_postgres_server(monkeypatch):
    monkeypatch.setattr(faults.os, "geteuid", lambda: 1000)
    assert "not root" in str(faults.local_cluster())
    monkeypatch.setattr(faults.os, "geteuid", lambda: 0)
    monkeypatch.setattr(faults.shutil, "which", lambda _name: None)
    assert "no pg_ctlcluster" in str(faults.local_cluster())


@pytest.mark.slow
@pytest.mark.postgres
def test_a_postgres_restart_loses_nothing_is_answered_503_and_ends_with_the_server_up(capsys):
    cluster = faults.local_cluster()
    if isinstance(cluster, str):
        pytest.skip(f"cannot restart PostgreSQL here: {cluster}")
    from bench.fault_campaign import main

    try:
        code = main(["--backends", "postgres", "--faults", "pg-restart", "--teachers", "4", "--fault-s", "1"])
    finally:
        assert faults.ensure_running(cluster)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PostgreSQL restart (server stopped)" in out and " 0 lost" in out
    assert "Retry-After 1 s" in out  # the outage was answered 503 with a wait in seconds
