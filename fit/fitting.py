"""``yanxiu fit``: check the targets, run ABC-PMC, confirm the fit, write the behaviour file.

Nothing is written unless the fit converged (every fitted target agrees at tolerance 0) and the
confirmation run of the central parameters reproduces the participation target. The behaviour
file holds the central parameters as scenario sections (a scenario takes them with
``behaviour_file:``), the posterior sample with weights, the provenance (targets and their hash,
method, date, commit, budget) and every target's model value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from domain.scenario import Scenario
from domain.targets import Targets
from fit import params
from fit.abc import AbcResult, run_abc
from fit.errors import FitError, NotConverged
from fit.metrics import MOVERS
from fit.simulations import Job, Runner, evaluate, seeds

METHOD = "ABC-PMC (Beaumont et al. 2009), uniform priors, distance = largest miss in band half-widths"


@dataclass(frozen=True)
class FitOptions:
    names: tuple[str, ...] = tuple(p.name for p in params.PARAMETERS)
    particles: int = 8
    budget: int = 40  # full simulations at most
    generations: int = 3
    max_simulated: int = 600
    seed: int = 13
    workers: int | None = None
    scheduler: str | None = None


def check_targets(scenario: Scenario, targets: Targets, names: tuple[str, ...]) -> None:
    """Refuse targets a fit cannot use, with one line naming the target."""
    if targets.campaign != scenario.name:
        raise FitError(f"targets are for campaign {targets.campaign!r}, the scenario is {scenario.name!r}")
    unknown = [n for n in names if n not in params.BY_NAME]
    if unknown:
        raise FitError(f"--params: unknown parameter {unknown[0]!r}")
    fitted = targets.used("fit")
    if not fitted:
        raise FitError("targets: no target has use: fit")
    for i, target in enumerate(targets.targets):
        if target.use != "fit":
            continue
        if not set(MOVERS[target.metric]) & set(names):
            raise FitError(f"targets[{i}] ({target.name}): no fitted parameter can move "
                           f"{target.metric!r}; make it use: check")
        if target.metric == "participants" and target.interval()[0] > scenario.population.teachers:
            raise FitError(f"targets[{i}] ({target.name}): more participants than the scenario's "
                           f"{scenario.population.teachers:,} teachers")


def fit(scenario: Scenario, targets: Targets, options: FitOptions, progress: Callable[[str], None],
        on_simulations: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The fitted behaviour document (not yet written); raises NotConverged. ``progress`` gets a
    line per step of the sampler, ``on_simulations`` (done, budget) after each batch of runs."""
    names = list(options.names)
    check_targets(scenario, targets, options.names)
    base = params.fit_data(scenario)
    fitted = targets.used("fit")
    started = time.perf_counter()
    with Runner(base, names, fitted, options.max_simulated, options.workers, options.scheduler) as runner:
        result = run_abc(runner, fitted, len(names), options.seed, options.particles, options.budget,
                         options.generations, progress, on_simulations)
    if not result.converged:
        worst = max((p.distance for p in result.particles), default=float("inf"))
        raise NotConverged(f"did not converge: after {result.simulations} simulations the last "
                           f"complete generation's {len(result.particles)} particles miss by up to "
                           f"{worst:.3g} band half-widths; nothing written (raise --budget or widen "
                           "the priors)")
    central = _central(result)
    progress("confirming the central parameters with a larger run")
    job = Job(tuple(float(x) for x in central), seeds(options.seed, 1, 10_000)[0], float("inf"))
    confirm = evaluate(base, names, fitted, options.max_simulated * 4, job)
    values = [params.BY_NAME[n].from_unit(u) for n, u in zip(names, central, strict=True)]
    for target in fitted:
        if target.metric == "participants" and target.distance(confirm["participants"]) > 0:
            raise NotConverged(f"did not converge: the confirmation run gives "
                               f"{confirm['participants']:,.0f} participants, outside "
                               f"{target.name}'s band; nothing written")
    document = params.overrides(params.emergent_data(scenario), names, values)
    document["provenance"] = _provenance(scenario, targets, options, result,
                                         time.perf_counter() - started)
    document["posterior"] = _posterior(names, result, values)
    document["fit"] = _report(targets, confirm, result)
    return document


def _central(result: AbcResult) -> np.ndarray:
    """The particle nearest the weighted posterior median (a real, simulated vector)."""
    units = np.array([p.unit for p in result.particles])
    median = np.array([_weighted_quantile(units[:, k], result.weights, 0.5)
                       for k in range(units.shape[1])])
    return np.asarray(units[int(np.argmin(((units - median) ** 2).sum(axis=1)))])


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) - 0.5 * weights[order]
    return float(np.interp(q, cum / weights.sum(), values[order]))


def _posterior(names: list[str], result: AbcResult, central: list[float]) -> dict[str, Any]:
    sample = [[params.BY_NAME[n].from_unit(float(u)) for n, u in zip(names, p.unit, strict=True)]
              for p in result.particles]
    columns = np.array(sample)
    rows = []
    for k, name in enumerate(names):
        p = params.BY_NAME[name]
        lo, hi = (_weighted_quantile(columns[:, k], result.weights, q) for q in (0.05, 0.95))
        rows.append({"name": name, "prior": [p.low, p.high], "log": p.log, "why": p.why,
                     "central": round(central[k], 6), "interval90": [round(lo, 6), round(hi, 6)]})
    return {"parameters": rows, "names": names,
            "sample": [[round(v, 6) for v in row] for row in sample],
            "weights": [round(float(w), 8) for w in result.weights]}


def _report(targets: Targets, confirm: dict[str, Any], result: AbcResult) -> dict[str, Any]:
    rows = []
    for target in targets.targets:
        if target.use == "context":
            continue
        model = confirm.get(target.metric)
        values = [p.figures[target.metric] for p in result.particles if target.metric in p.figures]
        lo, hi = target.interval()
        rows.append({"name": target.name, "metric": target.metric, "use": target.use,
                     "relation": target.relation, "figure": target.value,
                     "agrees_with": [lo, hi if np.isfinite(hi) else None],
                     "model_central": model, "model_posterior": [min(values), max(values)],
                     "agrees": bool(model is not None and target.distance(model) == 0.0)})
    outcomes = {"participation": confirm["participants"] / confirm["teachers"],
                "completion_share": confirm["completion_share"]}
    return {"targets": rows, "outcomes": outcomes, "history": result.history}


def _provenance(scenario: Scenario, targets: Targets, options: FitOptions, result: AbcResult,
                wall_s: float) -> dict[str, Any]:
    text = yaml.safe_dump(targets.model_dump(mode="json"), sort_keys=True)
    return {"scenario": scenario.name, "targets_campaign": targets.campaign,
            "targets_sha256": hashlib.sha256(text.encode()).hexdigest()[:16],
            "method": METHOD, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": _commit(), "seed": options.seed, "particles": options.particles,
            "max_simulated": options.max_simulated, "simulations": result.simulations,
            "screened_without_simulating": result.screened, "tolerances": result.tolerances,
            "wall_s": round(wall_s, 1)}


def _commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent  # pathspecs below are relative to it
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=root).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sim", "domain", "fit"],
                               capture_output=True, text=True, cwd=root).stdout
        return head + ("+uncommitted" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(document: dict[str, Any], path: Path, command: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Fitted behaviour, written by `{command}`; re-run the fit rather than editing it.\n"
              "# A scenario takes it with `behaviour_file: <this file>` (docs/fit.md).\n")
    path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                                            width=100), encoding="utf-8")

