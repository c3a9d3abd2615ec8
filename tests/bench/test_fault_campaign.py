"""The fault campaign's checks catch what they are for (an acknowledged write lost, study time
credited twice), and the campaign itself runs clean on SQLite (slow: about 45 s)."""

from __future__ import annotations

import pytest

from bench.fault_load import Ack, Play, check_plays, double_credit


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
