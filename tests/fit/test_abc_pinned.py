"""fit.abc pinned: the acceptance and the weights of ABC-PMC (Beaumont et al. 2009), restated
here with scipy rather than read from the code:

- a simulation's distance is its largest miss over the targets it has figures for;
- generation t accepts a proposal whose distance is at most eps_t (so at eps 0 exactly the
  simulations inside every band), and proposals lie in the unit cube;
- the proposal kernel is a Gaussian of twice the weighted covariance of generation t-1 (plus
  1e-6 on the diagonal); a particle's weight is prior / proposal density, the prior uniform:
  w_i ∝ 1 / Σ_j w_j N(x_i; x_j, 2Σ), normalised to sum 1;
- generation 0 runs batches of max(4 × parallel, 16) prior draws until 2 × particles simulations;
- eps_t is the 30% quantile of generation t-1's distances (0 below 1e-9); converged means a full
  generation all within 0.05 band half-widths.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from domain.targets import parse_targets
from fit.abc import CONVERGED, TOLERANCE_QUANTILE, Particle, Sampler, _agrees, distance, run_abc


class Linear:
    """Figures linear in the unit vector, no noise: minutes = 10 + 80 u0, sessions = 5 + 20 u1."""

    base: dict = {}
    names = ["a", "b"]

    def __init__(self, parallel: int = 2) -> None:
        self.parallel = parallel
        self.jobs: list = []

    def map(self, jobs):
        self.jobs += jobs
        return [{"mean_session_minutes": 10 + 80 * j.unit[0], "sessions_per_participant": 5 + 20 * j.unit[1]}
                for j in jobs]


def targets(minutes=50.0, sessions=10.0, relative=0.1):
    common = {"relation": "match", "why": "test", "source": {"document": "d", "where": "w"}}
    return parse_targets({"campaign": "c", "targets": [
        {**common, "name": "m", "metric": "mean_session_minutes", "value": minutes,
         "uncertainty": {"relative": relative}},
        {**common, "name": "s", "metric": "sessions_per_participant", "value": sessions,
         "uncertainty": {"relative": relative}}]}).targets


def sampler(runner=None, particles=10, budget=10_000, seed=1, goals=None) -> Sampler:
    return Sampler(runner or Linear(), goals or targets(), 2, seed, particles, budget,  # type: ignore[arg-type]
                   lambda line: None)


def particle(unit, d=0.0) -> Particle:
    return Particle(np.array(unit, float), d, {})


# --- distance and convergence ---------------------------------------------------------------


def test_distance_is_the_largest_miss_over_the_targets_present():
    goals = targets()
    inside = {"mean_session_minutes": 50.0}
    far = {"mean_session_minutes": 50.0, "sessions_per_participant": 20.0}
    assert distance(goals, inside) == 0.0
    miss = goals[1].distance(20.0)
    assert miss > 0 and distance(goals, far) == miss
    assert distance(goals, {"sessions_per_participant": 20.0, "other": 1.0}) == miss


def test_converged_is_a_full_generation_within_five_percent_of_a_band():
    assert CONVERGED == 0.05 and TOLERANCE_QUANTILE == 0.3
    assert _agrees([particle([0.5, 0.5], 0.05)] * 3, 3)
    assert not _agrees([particle([0.5, 0.5], 0.05)] * 2 + [particle([0.5, 0.5], 0.0501)], 3)
    assert not _agrees([particle([0.5, 0.5], 0.0)] * 2, 3)


# --- generation 0 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("parallel", "particles", "simulated"), [
    (2, 10, 32),  # batches of 16 until 20: two
    (5, 10, 20),  # batches of 20: one
    (2, 8, 16),   # 16 is exactly 2 x 8: one batch
])
def test_the_first_generation_runs_prior_batches_until_twice_the_particles(parallel, particles, simulated):
    runner = Linear(parallel)
    s = sampler(runner, particles=particles)
    first = s.first_generation()
    assert s.simulations == simulated == len(first) == len(runner.jobs)
    assert [p.distance for p in first] == sorted(p.distance for p in first)
    units = np.array([p.unit for p in first])
    assert np.all((units >= 0) & (units <= 1))


def test_the_first_generation_stops_at_the_budget():
    s = sampler(Linear(2), particles=10, budget=16)
    assert len(s.first_generation()) == 16 and s.simulations == 16


# --- acceptance and weights -----------------------------------------------------------------


def population(seed=4, n=10) -> tuple[list[Particle], np.ndarray]:
    rng = np.random.default_rng(seed)
    units = rng.uniform(0.3, 0.7, (n, 2))
    weights = rng.uniform(0.5, 1.5, n)
    return [particle(u) for u in units], weights / weights.sum()


def test_weights_are_prior_over_the_proposal_density():
    s = sampler(particles=8)
    old, old_weights = population()
    accepted, weights = s.next_generation(old, old_weights, eps=1e9)
    assert len(accepted) == 8
    xs = np.array([p.unit for p in old])
    cov = 2.0 * np.cov(xs.T, aweights=old_weights) + 1e-6 * np.eye(2)
    density = np.array([sum(w * multivariate_normal(x, cov).pdf(p.unit) for x, w in zip(xs, old_weights,
                                                                                         strict=True))
                        for p in accepted])
    expected = (1 / density) / (1 / density).sum()
    assert weights == pytest.approx(expected, rel=1e-9)
    units = np.array([p.unit for p in accepted])
    assert np.all((units >= 0) & (units <= 1))


def test_proposals_spread_as_twice_the_populations_covariance():
    s = sampler(particles=400, seed=7)
    old = [particle([0.5, 0.5]), particle([0.6, 0.4])]  # covariance of two points, weighted alike
    accepted, _ = s.next_generation(old, np.array([0.5, 0.5]), eps=1e9)
    units = np.array([p.unit for p in accepted])
    # each proposal is a population point plus N(0, 2 cov): the spread around its centre is
    # the points' own covariance plus twice it
    xs = np.array([p.unit for p in old])
    cov = np.cov(xs.T, aweights=[0.5, 0.5])
    spread = np.cov(units.T)
    assert spread[0, 0] == pytest.approx(0.25 * 0.01 + 2 * cov[0, 0], rel=0.2)


def test_a_proposal_exactly_at_the_tolerance_is_accepted():
    # targets inside which every simulation is: every distance is 0, eps 0 accepts them all
    s = sampler(particles=6, goals=targets(relative=100.0))
    old, weights = population(n=6)
    accepted, _ = s.next_generation(old, weights, eps=0.0)
    assert len(accepted) == 6 and all(p.distance == 0.0 for p in accepted)
    assert s.simulations == 8  # one batch of max(2 x 2, 8) proposals, two of them not needed


def test_only_proposals_within_the_tolerance_are_accepted():
    s = sampler(particles=5)
    old, weights = population(n=10)
    accepted, _ = s.next_generation(old, weights, eps=0.5)
    assert len(accepted) == 5 and all(p.distance <= 0.5 for p in accepted)
    ran = [distance(targets(), s.runner.map([job])[0]) for job in s.runner.jobs[:]]
    assert sum(d <= 0.5 for d in ran) >= 5 and s.simulations == len(ran)


def test_nothing_accepted_within_the_budget_is_an_empty_generation():
    s = sampler(particles=5, budget=8, goals=targets(minutes=500.0))  # unreachable
    old, weights = population(n=5)
    accepted, weights = s.next_generation(old, weights, eps=0.0)
    assert accepted == [] and weights.size == 0 and s.simulations == 8


# --- the run ---------------------------------------------------------------------------------


def test_the_tolerances_are_the_thirty_percent_quantile_of_the_last_generation():
    result = run_abc(Linear(2), targets(relative=0.02), 2, seed=3, particles=10, budget=2_000,
                     max_generations=3, progress=lambda line: None)
    assert result.history[0]["generation"] == 0
    assert [h["generation"] for h in result.history] == list(range(len(result.tolerances)))
    assert len(result.tolerances) >= 2
    assert result.tolerances[1] < result.tolerances[0]
    assert result.weights.sum() == pytest.approx(1.0) and len(result.particles) == 10
    for h, eps in zip(result.history, result.tolerances, strict=True):
        assert h["tolerance"] == eps


def test_the_first_tolerance_is_the_kept_particles_largest_distance():
    result = run_abc(Linear(2), targets(relative=0.02), 2, seed=3, particles=10, budget=2_000,
                     max_generations=0, progress=lambda line: None)
    distances = [p.distance for p in result.particles]
    assert result.tolerances == [max(distances)] and len(result.particles) == 10
    assert result.weights == pytest.approx(np.full(10, 0.1))
    assert not result.converged and result.simulations == 32


def test_a_run_whose_first_generation_agrees_converges_at_once():
    result = run_abc(Linear(2), targets(relative=100.0), 2, seed=3, particles=10, budget=2_000,
                     max_generations=5, progress=lambda line: None)
    assert result.converged and result.tolerances == [0.0] and result.simulations == 32


# --- the participation screen and distances chosen by the test ----------------------------------


class Miss:
    """A target whose distance is the figure itself: the test chooses every distance."""

    metric = "d"

    def distance(self, value: float) -> float:
        return value


class Chosen:
    """A runner whose figure ``d`` is ``of(unit)``; a job past its screen comes back screened."""

    base: dict = {}
    names = ["a", "b"]

    def __init__(self, of, parallel: int = 2, screened=lambda unit: False) -> None:
        self.of, self.parallel, self.screened = of, parallel, screened
        self.jobs: list = []

    def map(self, jobs):
        self.jobs += jobs
        return [{"d": self.of(j.unit), **({"screened": 1.0} if self.screened(j.unit) else {})} for j in jobs]


class Screen:
    """The participation screen: distance ``of(unit)``; every call recorded, bounded."""

    def __init__(self, of) -> None:
        self.of = of
        self.calls: list[float] = []

    def distance(self, unit) -> float:
        if len(self.calls) > 200_000:
            raise RuntimeError("the screen was asked without end")
        d = self.of(unit)
        self.calls.append(d)
        return d


def chosen(of, particles=10, budget=10_000, parallel=2, screen=None, screened=lambda unit: False) -> Sampler:
    s = Sampler(Chosen(of, parallel, screened), [Miss()], 2, 1, particles, budget,  # type: ignore[arg-type, list-item]
                lambda line: None)
    s.screen = screen
    return s


def test_a_particle_is_simulated_unless_said():
    assert particle([0.5, 0.5]).simulated is True


def test_the_screen_keeps_what_is_within_it_and_counts_the_rest():
    screen = Screen(lambda u: float(u[0]))
    s = chosen(lambda u: 0.0, screen=screen)
    units = [np.array([x, 0.5]) for x in (0.1, 0.5, 0.9, 0.7)]
    out = s._run(units, 0.5)
    assert [p.unit[0] for p in out] == [0.1, 0.5]  # 0.5 is within a screen of 0.5
    assert s.screened == 2 and s.simulations == 2
    assert [j.screen for j in s.runner.jobs] == [float("inf")] * 2  # screened here, not again


def test_a_job_the_worker_screened_is_counted_as_screened():
    s = chosen(lambda u: 0.0, screened=lambda unit: unit[0] > 0.5)
    out = s._run([np.array([0.2, 0.2]), np.array([0.8, 0.2])], 1.0)
    assert [p.simulated for p in out] == [True, False]
    assert (s.simulations, s.screened) == (1, 1)
    assert all("screened" not in p.figures for p in out)


def test_the_first_generation_simulates_only_draws_near_participation():
    screen = Screen(lambda u: 10 * float(u[0]))  # near: u0 <= 0.15
    s = chosen(lambda u: float(u[1]), screen=screen)
    first = s.first_generation()
    assert len(first) == s.simulations == 32 and all(10 * p.unit[0] <= 1.5 for p in first)
    # every draw judged too far is counted screened once (the simulated ones pass it twice)
    assert s.screened == sum(d > 1.5 for d in screen.calls)
    assert len(screen.calls) == 2 * 16 * 64 + 32


@pytest.mark.parametrize(("particles", "screened"), [
    (10, 1024), (20, 2048),
    (51, 5120),   # 5,120 screened is past 5,100
    (256, 26624),  # 25,600 screened is not past 25,600: one more batch
])
def test_no_draw_near_participation_gives_up_past_a_hundred_per_particle(particles, screened):
    screen = Screen(lambda u: 10.0)
    s = chosen(lambda u: 0.0, particles=particles, screen=screen)
    assert s.first_generation() == []
    assert (s.screened, s.simulations) == (screened, 0)  # batches of 16 x 64 draws


@pytest.mark.parametrize(("parallel", "particles", "simulated"), [(5, 6, 10), (2, 8, 8), (2, 9, 16)])
def test_proposals_come_in_batches_until_enough_are_accepted(parallel, particles, simulated):
    s = chosen(lambda u: 0.0, particles=particles, parallel=parallel)
    old, weights = population(n=6)
    accepted, _ = s.next_generation(old, weights, eps=0.0)
    assert len(accepted) == particles and s.simulations == simulated  # max(2 x parallel, 8) a batch


@pytest.mark.parametrize(("particles", "simulated"), [(2, 1008), (8, 4008)])
def test_a_kernel_that_proposes_nothing_near_stops_after_five_hundred_per_particle(particles, simulated):
    s = chosen(lambda u: 1.0, particles=particles)
    old, weights = population(n=6)
    accepted, _ = s.next_generation(old, weights, eps=0.5)
    assert accepted == [] and s.simulations == simulated  # the first batch of 8 past 500 x particles


def test_a_tolerance_below_a_billionth_is_zero():
    def tiny_or_far(u) -> float:  # a few draws miss by 5e-13, the rest by a full band
        return 5e-13 if u[0] < 0.15 else 1.0

    result = run_abc(Chosen(tiny_or_far), [Miss()], 2, seed=1, particles=10, budget=200,  # type: ignore[arg-type, list-item]
                     max_generations=3, progress=lambda line: None)
    assert result.history[0]["tolerance"] == 1.0 and not result.converged
    # the 30% quantile (5e-13) is taken as 0, which accepts nothing (every distance is
    # positive): the run stops at generation 0 when the budget is spent
    assert len(result.tolerances) == 1 and result.history[0]["zero_distance"] == 0
    assert result.simulations == 200


def test_the_history_counts_the_particles_at_distance_zero():
    result = run_abc(Chosen(lambda u: 0.0 if u[0] < 0.5 else float(u[0])), [Miss()], 2,  # type: ignore[arg-type, list-item]
                     seed=1, particles=10, budget=200, max_generations=3, progress=lambda line: None)
    assert result.converged and result.history == [
        {"generation": 0, "tolerance": 0.0, "simulations": 32, "screened": 0, "zero_distance": 10}]


def test_the_kernels_stop_counts_only_this_generations_proposals():
    s = chosen(lambda u: 1.0, particles=2)
    s.simulations, s.screened = 40, 24  # generation 0's
    old, weights = population(n=6)
    assert s.next_generation(old, weights, eps=0.5)[0] == []
    assert s.simulations - 40 == 1008


def test_no_simulation_at_all_has_not_converged():
    result = run_abc(Chosen(lambda u: 0.0), [Miss()], 2, seed=1, particles=10, budget=0,  # type: ignore[arg-type, list-item]
                     max_generations=3, progress=lambda line: None)
    assert (result.particles, result.converged, result.simulations) == ([], False, 0)


def test_a_tolerance_below_one_is_kept():
    result = run_abc(Chosen(lambda u: 0.2 + float(u[0])), [Miss()], 2, seed=1, particles=10,  # type: ignore[arg-type, list-item]
                     budget=5_000, max_generations=1, progress=lambda line: None)
    assert len(result.tolerances) == 2 and 0.2 < result.tolerances[1] < result.tolerances[0] < 1.0


def test_a_generation_that_accepts_too_few_ends_the_run():
    count = [0]

    def ever_further(u) -> float:  # every simulation misses more than all before it
        count[0] += 1
        return 1.0 + 0.001 * count[0]

    result = run_abc(Chosen(ever_further), [Miss()], 2, seed=1, particles=2, budget=100_000,  # type: ignore[arg-type, list-item]
                     max_generations=3, progress=lambda line: None)
    assert result.simulations == 16 + 1008 and len(result.tolerances) == 1 and not result.converged


def test_a_runner_that_answers_fewer_figures_than_jobs_is_an_error():
    class Short(Chosen):
        def map(self, jobs):
            return super().map(jobs)[:-1]

    s = Sampler(Short(lambda u: 0.0), [Miss()], 2, 1, 10, 100, lambda line: None)  # type: ignore[arg-type, list-item]
    with pytest.raises(ValueError):
        s._run([np.array([0.1, 0.1]), np.array([0.2, 0.2])], 1.0)


def test_proposals_near_the_cubes_faces_stay_inside_it():
    s = sampler(particles=200, seed=3)
    old = [particle([0.01, 0.02]), particle([0.99, 0.97])]  # a wide kernel: many proposals fall outside
    accepted, _ = s.next_generation(old, np.array([0.5, 0.5]), eps=1e9)
    units = np.array([p.unit for p in accepted])
    assert len(units) == 200 and np.all((units >= 0) & (units <= 1))


def test_a_draw_exactly_at_the_screens_start_is_simulated():
    s = chosen(lambda u: 0.0, screen=Screen(lambda u: 1.5 if u[0] < 0.5 else 10.0))
    first = s.first_generation()
    assert len(first) == 32 and all(p.unit[0] < 0.5 for p in first)


def test_a_tolerance_of_exactly_a_billionth_is_kept():
    result = run_abc(Chosen(lambda u: 1e-9 if u[0] < 0.2 else 1.0), [Miss()], 2, seed=1, particles=10,  # type: ignore[arg-type, list-item]
                     budget=5_000, max_generations=1, progress=lambda line: None)
    assert result.tolerances[1:] == [1e-9]
