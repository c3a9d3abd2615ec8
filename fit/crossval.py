"""Cross-validation: behaviour fitted on one campaign predicts another campaign's public figures.

``predict`` runs a scenario whose behaviour is already fitted (its ``behaviour_file``) against a
targets file. ``cross_validate`` does both directions from scratch: fit campaign A on A's
targets, carry the fitted central parameters into campaign B's scenario and compare the run with
B's targets; then fit B and predict A. Only behaviour is carried: each campaign keeps its own
calendar, courses, waves (``wave_scale`` scales them) and workforce, and its own returning share
(who took part before is a fact of the campaign, not a behaviour; ``CAMPAIGN_SPECIFIC``).

A prediction run is the fit's run (``params.fit_data``: no tiers, certificates at the window's
end) with four times the fit's sample and its own seed, as the fit's confirmation run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from domain.scenario import Scenario
from domain.targets import Targets
from fit import params
from fit.errors import FitError, NotConverged
from fit.fitting import FitOptions, fit, write

CAMPAIGN_SPECIFIC = ("returning_share",)
PREDICT_FACTOR = 4  # a prediction simulates this many times the fit's teachers per run


@dataclass(frozen=True)
class Campaign:
    scenario: Scenario
    targets: Targets
    scenario_path: str
    targets_path: str


def judge(scenario: Scenario, targets: Targets, max_simulated: int, seed: int) -> list[dict[str, Any]]:
    """One fit-style run of ``scenario`` (participation already an outcome): every target but the
    context ones beside the model's value, the relative error and whether it agrees."""
    from fit.metrics import metrics
    from sim.model import simulate

    if targets.campaign != scenario.name:
        raise FitError(f"targets are for campaign {targets.campaign!r}, the scenario is {scenario.name!r}")
    run = simulate(Scenario.model_validate(params.fit_data(scenario)), None, seed, max_simulated,
                   shards=1, workers=1)
    figures = metrics(run)
    rows = []
    for target in targets.targets:
        if target.use == "context":
            continue
        model = figures[target.metric]
        rows.append({"name": target.name, "metric": target.metric, "relation": target.relation,
                     "figure": target.value, "model": model,
                     "error": model / target.value - 1 if target.value else None,
                     "agrees": target.distance(model) == 0.0})
    return rows


def predict(scenario: Scenario, targets: Targets, max_simulated: int, seed: int) -> list[dict[str, Any]]:
    """``yanxiu fit --predict``: a scenario with fitted behaviour (its behaviour_file) against
    another campaign's targets."""
    if scenario.behaviour.participation != "emergent":
        raise FitError("--predict needs a scenario with fitted behaviour (behaviour_file: a fit's "
                       "output), where participation is an outcome")
    return judge(scenario, targets, max_simulated, seed)


def carried(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names if n not in CAMPAIGN_SPECIFIC)


def check_pair(a: Campaign, b: Campaign, names: tuple[str, ...]) -> None:
    """Refuse a pair that cannot cross-validate, before any simulation."""
    from fit.fitting import check_targets

    if a.scenario.name == b.scenario.name:
        raise FitError(f"--cross-validate: both campaigns are {a.scenario.name!r}; give another one")
    for c in (a, b):
        if c.targets.campaign != c.scenario.name:
            raise FitError(f"{c.targets_path}: targets are for campaign {c.targets.campaign!r}, "
                           f"the scenario is {c.scenario.name!r}")
        check_targets(c.scenario, c.targets, names)


def cross_validate(a: Campaign, b: Campaign, options: FitOptions, folder: Path,
                   progress: Callable[[str], None],
                   on_simulations: Callable[[int, int], None] | None = None,
                   on_fit: Callable[[str], None] | None = None) -> Any:
    """Both directions (records.crossval.CrossValidation); each converged fit's behaviour file is
    written into ``folder``. A direction whose fit does not converge is recorded as such."""
    from records.crossval import CrossValidation

    options = replace(options, names=carried(options.names))
    check_pair(a, b, options.names)
    directions = []
    for fitted_on, other in ((a, b), (b, a)):
        if on_fit is not None:
            on_fit(f"fitting {fitted_on.scenario.name}, predicting {other.scenario.name}")
        directions.append(_direction(fitted_on, other, options, folder, progress, on_simulations))
    return CrossValidation(seed=options.seed, particles=options.particles, budget=options.budget,
                           generations=options.generations, max_simulated=options.max_simulated,
                           predict_simulated=options.max_simulated * PREDICT_FACTOR,
                           carried=list(options.names), directions=directions)


def _direction(fitted_on: Campaign, other: Campaign, options: FitOptions, folder: Path,
               progress: Callable[[str], None],
               on_simulations: Callable[[int, int], None] | None) -> Any:
    from records.crossval import Direction, Predicted

    common = {"fitted_on": fitted_on.scenario.name, "predicted": other.scenario.name,
              "scenario": fitted_on.scenario_path, "targets": fitted_on.targets_path,
              "predicted_scenario": other.scenario_path, "predicted_targets": other.targets_path}
    try:
        document = fit(fitted_on.scenario, fitted_on.targets, options, progress, on_simulations)
    except NotConverged as exc:
        return Direction(**common, converged=False, message=str(exc))
    path = folder / f"{fitted_on.scenario.name}.behaviour.yaml"
    write(document, path, f"yanxiu fit --cross-validate (fitted on {fitted_on.scenario.name})")
    central = {row["name"]: row["central"] for row in document["posterior"]["parameters"]}
    names = list(central)
    scenario = params.apply(params.emergent_data(other.scenario), names, [central[n] for n in names])
    progress(f"predicting {other.scenario.name} with the behaviour fitted on {fitted_on.scenario.name}")
    rows = judge(scenario, other.targets, options.max_simulated * PREDICT_FACTOR, options.seed + 1)
    in_sample = [Predicted(name=r["name"], metric=r["metric"], relation=r["relation"], figure=r["figure"],
                           model=r["model_central"], agrees=r["agrees"],
                           error=r["model_central"] / r["figure"] - 1 if r["figure"] else None)
                 for r in document["fit"]["targets"] if r["model_central"] is not None]
    prov = document["provenance"]
    return Direction(**common, converged=True, behaviour_file=str(path), parameters=central,
                     simulations=prov["simulations"], wall_s=prov["wall_s"], in_sample=in_sample,
                     out_of_sample=[Predicted(**r) for r in rows])
