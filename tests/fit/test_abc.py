"""ABC-PMC (fit.abc) on a stand-in simulator whose answer is known: fast checks of the sampler
itself (the model's own identifiability is tests/fit/test_identifiability.py)."""

import numpy as np
import pytest

from domain.targets import parse_targets
from fit.abc import run_abc


class StandIn:
    """Maps unit vectors to figures: minutes = 10 + 80 u0, sessions = 5 + 20 u1, seed noise 1%."""

    base: dict = {}
    names = ["session_minutes_mean", "gap_hours_mean"]
    parallel = 2

    def map(self, jobs):
        out = []
        for job in jobs:
            noise = np.random.default_rng(job.seed).normal(1.0, 0.01, 2)
            out.append({"mean_session_minutes": (10 + 80 * job.unit[0]) * noise[0],
                        "sessions_per_participant": (5 + 20 * job.unit[1]) * noise[1]})
        return out


def _targets(minutes, sessions):
    common = {"relation": "match", "why": "test", "source": {"document": "d", "where": "w"}}
    return parse_targets({"campaign": "c", "targets": [
        {**common, "name": "m", "metric": "mean_session_minutes", "value": minutes,
         "uncertainty": {"relative": 0.1}},
        {**common, "name": "s", "metric": "sessions_per_participant", "value": sessions,
         "uncertainty": {"relative": 0.1}}]}).targets


def test_recovers_the_parameters_that_made_the_targets():
    truth = np.array([0.5, 0.25])  # 50 minutes, 10 sessions
    result = run_abc(StandIn(), _targets(50.0, 10.0), 2, seed=1, particles=20, budget=400,
                     max_generations=8, progress=lambda line: None)
    assert result.converged
    units = np.array([p.unit for p in result.particles])
    centre = np.average(units, axis=0, weights=result.weights)
    # +-10% bands on figures of slope 80 and 20 around 50 and 10: the region is u0 within
    # 0.0625 and u1 within 0.05 of the truth (plus 1% seed noise); its centre is the truth
    assert centre == pytest.approx(truth, abs=0.03)
    assert np.all(np.abs(units - truth) <= [0.075, 0.06])
    assert result.weights.sum() == pytest.approx(1.0)


def test_unreachable_targets_do_not_converge():
    result = run_abc(StandIn(), _targets(500.0, 10.0), 2, seed=1, particles=10, budget=120,
                     max_generations=4, progress=lambda line: None)
    assert not result.converged


def test_counts_simulations_against_the_budget():
    counts = []
    result = run_abc(StandIn(), _targets(50.0, 10.0), 2, seed=1, particles=10, budget=120,
                     max_generations=4, progress=lambda line: None,
                     on_count=lambda done, total: counts.append((done, total)))
    assert counts and all(total == 120 for _, total in counts)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)  # never goes back
    assert counts[-1][0] == min(result.simulations, 120)
