"""Sharded runs: the same results whatever the number of processes, and the same campaign
as one shard within sampling noise."""

import numpy as np
import pytest

import sim.shards
from sim.model import run_model
from sim.outputs.outcomes import totals
from sim.shards import default_shards, groups, shard_rows
from sim.tiers.feedback import Feedback
from tests.sim.sessions.test_behaviour import _smoke_with_gateway


def test_shards_are_interleaved_rows_covering_everyone_once():
    rows = shard_rows(10, 3)
    assert [r.tolist() for r in rows] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert groups(5, 2) == [[0, 1, 2], [3, 4]]
    assert groups(2, 8) == [[0], [1]]


def test_default_shards_depend_on_the_population_only():
    assert default_shards(20_000) == 1
    assert default_shards(120_000) == 2
    assert default_shards(10_000_000) == 2


def _fingerprint(run) -> list[np.ndarray]:
    prog = run.progress
    return [run.recorder.counts, run.recorder.errors, run.recorder.spans["sessions"],
            run.recorder.daily["sessions"], prog.studied, prog.passed_at, prog.attempts,
            run.completed_at, run.certificate_at, *run.tiers.columns().values()]


def test_results_do_not_depend_on_the_number_of_processes(smoke):
    one = run_model(smoke, teachers=3000, seed=11, shards=2, workers=1)
    two = run_model(smoke, teachers=3000, seed=11, shards=2, workers=2)
    assert one.stats["workers"] == 1 and two.stats["workers"] == 2
    for a, b in zip(_fingerprint(one), _fingerprint(two), strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.seeds == two.seeds and "sessions.shard1" in one.seeds


def test_two_shards_simulate_the_same_campaign_as_one(smoke):
    """Different random streams, same model: totals agree within sampling noise (about
    1/sqrt(n) relative for counts of n teachers; 5% is over 3 standard errors here)."""
    one = totals(run_model(smoke, teachers=6000, seed=2, shards=1))
    two = totals(run_model(smoke, teachers=6000, seed=2, shards=2))
    assert one["participants"] == two["participants"]
    for key in ("sessions", "requests", "studied", "completed_all"):
        assert two[key] == pytest.approx(one[key], rel=0.05), key


def test_feedback_observes_the_sum_of_the_shards(smoke, monkeypatch):
    """Every minute of the window, the feedback sees the whole run's rates (both shards and
    the background load), not one shard's."""
    seen = []
    original = Feedback.observe

    def spy(self, rates, egress_gbps):
        seen.append((rates[self.endpoints.index("login")], egress_gbps))
        return original(self, rates, egress_gbps)

    monkeypatch.setattr(Feedback, "observe", spy)
    run = run_model(smoke, teachers=3000, seed=4, shards=2, workers=1)
    window = run.profile.window_minutes
    login = run.recorder.counts[run.recorder.index["login"], :window] / 60.0
    egress = run.recorder.series()["egress_gbps"][:window]
    assert len(seen) == window
    np.testing.assert_allclose([s[0] for s in seen], login, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([s[1] for s in seen], egress, rtol=1e-9, atol=1e-12)
    assert login.max() > 0


def test_processes_that_must_meet_give_the_same_results(monkeypatch):
    """A starved SMS gateway: shards cannot stay apart (the overload feedback engages), so the
    run starts again meeting every minute from the first minute a shard is not locally idle;
    one process (meeting every minute from the start) and two give the same bytes."""
    attempts = []
    original = sim.shards._run

    def spy(world, plan, meet_from, on_minute):
        attempts.append(meet_from)
        return original(world, plan, meet_from, on_minute)

    monkeypatch.setattr(sim.shards, "_run", spy)
    starved = _smoke_with_gateway(1, 6_000)
    one = run_model(starved, teachers=1500, seed=11, shards=2, workers=1)
    two = run_model(starved, teachers=1500, seed=11, shards=2, workers=2)
    assert attempts[0] == 0 and attempts[1] is None and attempts[2] > 0  # apart, then meeting
    assert one.stats["feedback_calls"] == two.stats["feedback_calls"] > 0
    for a, b in zip(_fingerprint(one), _fingerprint(two), strict=True):
        np.testing.assert_array_equal(a, b)
