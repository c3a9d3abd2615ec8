"""Approximate Bayesian computation by population Monte Carlo (ABC-PMC, Beaumont et al. 2009).

The prior is uniform on the parameters' ranges (``fit.params``, log scale where stated), worked
in the unit cube. The distance of a simulation to the targets is the largest miss over the
fitted targets (``Target.distance``: 0 inside a target's uncertainty band or bound, otherwise
the miss in band half-widths, log scale). So distance 0 means *every* target agrees, and the
posterior at tolerance 0 is the prior restricted to the parameters whose simulations (seed noise
included: every simulation has its own seed) agree with every target: a confidence region
stated as a weighted sample.

Generation 0 draws a Latin hypercube from the prior and keeps the closest ``particles``;
generation t accepts proposals within the tolerance eps_t = the 30% quantile of the distances
of generation t-1 (0 once 30% of them are 0), proposed by perturbing weighted particles with a
Gaussian kernel of twice their covariance, and re-weights them by prior / proposal density.
The fit has converged when a complete generation agrees with every target to within
``CONVERGED`` (5% of a band's half-width); when the simulation budget runs out first it has
not, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import qmc

from domain.targets import Target
from fit.simulations import Job, Runner, Screen, seeds

SCREEN_START = 1.5
# eps_t is this quantile of generation t-1's distances: it reaches 0 once 30% of the particles
# agree with every target (the median would wait for half of them, costing a generation or two)
TOLERANCE_QUANTILE = 0.3
# converged: a full generation whose every particle misses every target by at most this many
# band half-widths (5% of a band: inside it for any practical purpose, the bands being judgements)
CONVERGED = 0.05  # generation 0 simulates only vectors whose participation misses by <= this


@dataclass
class Particle:
    unit: np.ndarray
    distance: float
    figures: dict[str, float]
    simulated: bool = True


@dataclass
class AbcResult:
    particles: list[Particle]
    weights: np.ndarray
    tolerances: list[float]
    simulations: int  # full simulations run
    screened: int  # vectors rejected on participation alone, without simulating
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def distance(targets: list[Target], figures: dict[str, float]) -> float:
    return max(t.distance(figures[t.metric]) for t in targets if t.metric in figures)


class Sampler:
    def __init__(self, runner: Runner, targets: list[Target], dims: int, seed: int,
                 particles: int, budget: int, progress: Callable[[str], None],
                 on_count: Callable[[int, int], None] | None = None) -> None:
        self.runner, self.targets, self.dims = runner, targets, dims
        screen = Screen(runner.base, runner.names, targets) \
            if any(t.metric == "participants" for t in targets) else None
        self.screen = screen if screen is not None and screen.usable else None
        self.particles, self.budget, self.progress = particles, budget, progress
        self.on_count = on_count
        self.rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1313]))
        self.seed = seed
        self.simulations = self.screened = self.jobs = 0

    def _run(self, units: list[np.ndarray], screen: float) -> list[Particle]:
        if self.screen is not None:  # screened here: only vectors near participation go out
            kept = []
            for u in units:
                d = self.screen.distance(u)
                if d > screen:
                    self.screened += 1
                else:
                    kept.append(u)
            units, screen = kept, float("inf")
        if not units:
            return []
        jobs = [Job(tuple(float(x) for x in u), s, screen)  # unit-cube coordinates
                for u, s in zip(units, seeds(self.seed, len(units), self.jobs), strict=True)]
        self.jobs += len(jobs)
        out = []
        for unit, figures in zip(units, self.runner.map(jobs), strict=True):
            simulated = not figures.pop("screened", 0.0)
            self.simulations += simulated
            self.screened += not simulated
            out.append(Particle(unit, distance(self.targets, figures), figures, simulated))
        if self.on_count is not None:
            self.on_count(min(self.simulations, self.budget), self.budget)
        return out

    def first_generation(self) -> list[Particle]:
        """Prior draws until 2 x particles simulations (screened draws do not count)."""
        lhs = qmc.LatinHypercube(d=self.dims, seed=self.rng)
        done: list[Particle] = []
        batch = max(4 * self.runner.parallel, 16)
        while sum(p.simulated for p in done) < 2 * self.particles and self.simulations < self.budget:
            units = list(lhs.random(batch))
            if self.screen is not None:  # draw until a batch survives the screen
                units = [u for u in lhs.random(batch * 64) if self.screen.distance(u) <= SCREEN_START]
                self.screened += batch * 64 - len(units)
                units = units[:batch]
            done += self._run(units, SCREEN_START)
            self.progress(f"generation 0: {self.simulations} simulated, {self.screened} screened out")
            if self.screened > 100 * self.particles and self.simulations == 0:
                break  # no prior draw comes near the participation target
        return sorted((p for p in done if p.simulated), key=lambda p: p.distance)

    def next_generation(self, population: list[Particle], weights: np.ndarray,
                        eps: float) -> tuple[list[Particle], np.ndarray]:
        units = np.array([p.unit for p in population])
        cov = 2.0 * np.atleast_2d(np.cov(units.T, aweights=weights)) + 1e-6 * np.eye(self.dims)
        chol = np.linalg.cholesky(cov)
        accepted: list[Particle] = []
        batch = max(2 * self.runner.parallel, 8)
        proposed_before = self.screened + self.simulations
        while len(accepted) < self.particles and self.simulations < self.budget:
            if self.screened + self.simulations - proposed_before > 500 * self.particles:
                break  # the kernel proposes nothing near the targets any more
            proposals: list[np.ndarray] = []
            while len(proposals) < batch:
                j = self.rng.choice(len(population), p=weights)
                u = units[j] + chol @ self.rng.standard_normal(self.dims)
                if np.all((u >= 0) & (u <= 1)):
                    proposals.append(u)
            accepted += [p for p in self._run(proposals, eps) if p.distance <= eps]
            self.progress(f"tolerance {eps:.3g}: {min(len(accepted), self.particles)}/"
                          f"{self.particles} accepted, {self.simulations} simulated")
        accepted = accepted[: self.particles]
        if not accepted:
            return [], np.array([])
        new = np.array([p.unit for p in accepted])
        inv = np.linalg.inv(cov)
        norm = 1.0 / math.sqrt((2 * math.pi) ** self.dims * np.linalg.det(cov))
        diffs = new[:, None, :] - units[None, :, :]
        kernel = norm * np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diffs, inv, diffs))
        w = 1.0 / np.maximum(kernel @ weights, 1e-300)
        return accepted, w / w.sum()


def run_abc(runner: Runner, targets: list[Target], dims: int, seed: int, particles: int,
            budget: int, max_generations: int, progress: Callable[[str], None],
            on_count: Callable[[int, int], None] | None = None) -> AbcResult:
    """ABC-PMC in the unit cube (the runner's jobs carry unit vectors mapped by ``runner``);
    ``on_count(simulations, budget)`` after each batch."""
    sampler = Sampler(runner, targets, dims, seed, particles, budget, progress, on_count)
    first = sampler.first_generation()
    population = first[:particles]
    if not population:
        return AbcResult([], np.array([]), [], sampler.simulations, sampler.screened, False)
    weights = np.full(len(population), 1.0 / len(population))
    tolerances = [population[-1].distance]
    history = [_summary(0, tolerances[-1], population, sampler)]
    for generation in range(1, max_generations + 1):
        if _agrees(population, particles):
            return AbcResult(population, weights, tolerances, sampler.simulations,
                             sampler.screened, True, history)
        eps = float(np.quantile([p.distance for p in population], TOLERANCE_QUANTILE))
        eps = 0.0 if eps < 1e-9 else eps
        new, new_weights = sampler.next_generation(population, weights, eps)
        if len(new) < particles:
            break
        population, weights = new, new_weights
        tolerances.append(eps)
        history.append(_summary(generation, eps, population, sampler))
    converged = _agrees(population, particles)
    return AbcResult(population, weights, tolerances, sampler.simulations, sampler.screened,
                     converged, history)


def _agrees(population: list[Particle], particles: int) -> bool:
    return len(population) == particles and all(p.distance <= CONVERGED for p in population)


def _summary(generation: int, eps: float, population: list[Particle], sampler: Sampler) -> dict[str, Any]:
    return {"generation": generation, "tolerance": eps, "simulations": sampler.simulations,
            "screened": sampler.screened,
            "zero_distance": sum(1 for p in population if p.distance == 0.0)}
