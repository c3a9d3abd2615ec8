"""yanxiu.progress: a line per stage (and per fifth of a counted stage) off a terminal; a bar on one."""

from __future__ import annotations

import io

from yanxiu.progress import Progress


def test_lines_per_stage_when_not_a_terminal():
    stream = io.StringIO()
    with Progress("yanxiu run", stream) as progress:
        progress.stage("simulating", total=10, unit="day")
        for day in range(1, 11):
            progress.advance(day)
        progress.stage("writing results")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "yanxiu run: simulating (10 days) ..."
    assert [line for line in lines if "/10" in line] == [f"yanxiu run: simulating: {n}/10 ({n}0%)"
                                                         for n in (2, 4, 6, 8, 10)]
    assert lines[-2] == "yanxiu run: writing results ..."
    assert lines[-1].startswith("yanxiu run: writing results: done in")
    assert "\r" not in stream.getvalue()


def test_total_learned_from_the_callback():
    stream = io.StringIO()
    with Progress("yanxiu report", stream) as progress:
        progress.stage("drawing charts")
        report = progress.callback()
        for done in range(1, 6):
            report(done, 5)
    assert "yanxiu report: drawing charts: 5/5 (100%)" in stream.getvalue()


def test_a_bar_on_a_terminal():
    stream = io.StringIO()
    with Progress("yanxiu run", stream, bar=True) as progress:
        progress.stage("simulating", total=4, unit="day")
        progress.advance(4)
    assert "simulating" in stream.getvalue() and "\r" in stream.getvalue()


def test_a_quiet_stage_refused_before_any_work_prints_nothing():
    import pytest

    stream = io.StringIO()
    with pytest.raises(ValueError), Progress("yanxiu report", stream) as progress:
        progress.stage("drawing charts", quiet=True)
        raise ValueError("no such results folder")
    assert stream.getvalue() == ""


def test_say_goes_to_stdout_beside_a_bar(capsys):
    stream = io.StringIO()
    with Progress("yanxiu calibrate", stream, bar=True) as progress:
        progress.stage("measuring steps", total=3, unit="step")
        progress.say("step 1 stair-1: 420 requests")
        progress.advance(1)
    assert capsys.readouterr().out.splitlines() == ["step 1 stair-1: 420 requests"]
    assert "step 1" not in stream.getvalue()
