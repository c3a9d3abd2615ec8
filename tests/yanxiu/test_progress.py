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


def test_a_note_is_a_line_of_its_own_and_a_quiet_stage_starts_with_it():
    stream = io.StringIO()
    with Progress("yanxiu fit", stream) as progress:
        progress.stage("fitting smoke by ABC-PMC, a budget of", total=40, unit="simulation", quiet=True)
        progress.note("tolerance 0.5: 3/8 accepted, 20 simulated")
        progress.advance(20)
    lines = stream.getvalue().splitlines()
    assert lines[:3] == ["yanxiu fit: fitting smoke by ABC-PMC, a budget of (40 simulations) ...",
                         "yanxiu fit: tolerance 0.5: 3/8 accepted, 20 simulated",
                         "yanxiu fit: fitting smoke by ABC-PMC, a budget of: 20/40 (50%)"]


def test_a_note_goes_above_the_bar_on_a_terminal():
    stream = io.StringIO()
    with Progress("yanxiu fit", stream, bar=True) as progress:
        progress.stage("fitting", total=4, unit="simulation")
        progress.note("generation 0: 2 simulated")
        progress.advance(4)
    assert "yanxiu fit: generation 0: 2 simulated\n" in stream.getvalue()
