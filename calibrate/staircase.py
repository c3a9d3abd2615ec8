"""The calibration's measured steps: an idle reading, one step per journey group (``MIX_TAGS``:
mixes that differ, so that the fit can tell endpoints apart), then the staircase on the
scenario's own mix at rising scales (``GROWTH``, from ``FIRST_GROWTHS`` above the base scale)
until a step breaks the SLO (``slo``: p95 of all requests above the front tier's ``p95_ms``, or
errors above ``service_levels.error_rate``), the generator saturates, or ``max_steps`` is
reached. ``stable``: whether a step may enter the fit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calibrate import fit as fitting
from calibrate import knee as knees
from calibrate.config import Config
from calibrate.errors import CalibrationError
from calibrate.steps import StepRun, StepSpec, run_step
from calibrate.target import Target
from domain.scenario import Scenario

# (the campaign page enrols: study and test journeys need it before their first request)
# and the multiple of the base scale each runs at (its journeys are a part of all: registrations
# are a few percent of the sessions, so their step needs a larger scale to finish enough requests)
MIX_TAGS: tuple[tuple[str, ...], ...] = (("campaign", "study"), ("campaign", "test"), ("register",))
MIX_SCALE: tuple[float, ...] = (3.0, 3.0, 100.0)
GROWTH = 1.7  # the staircase's ratio between steps
# the staircase's first scale, in growths above the base scale (since 2026-12-01 05:00): its
# steps at 1 and 1.7 x the base (14 and 25 req/s on SQLite) ran loads the mix steps (8-45 req/s)
# and the idle reading cover; re-fitted without them (the 04:39 baseline's rows) every demand
# moved by less than 0.3% (admin_progress 1.7%, inside its interval), the api's idle 0.018 ->
# 0.019; their 50 s go to a fourth hold, which closes the knee's bracket (calibrate.confirm)
FIRST_GROWTHS = 2
IDLE_S = 4.0


def step_options(config: Config, context: Any, target: Target) -> dict[str, Any]:
    return {"scenario": str(config.scenario_path), "model_results": str(config.model_results),
            "stretch": config.stretch, "compress": config.compress, "accounts": str(target.accounts),
            "answers": str(target.answers or ""), "route_map": str(config.route_map or ""),
            "sms_code": config.sms_code, "arrival_process": "deterministic", "bin_seconds": 10.0,
            "seed": config.seed, **config.extra_options}


def measure(config: Config, context: Any, target: Target, work: Path, say: Callable[[str], None],
             on_step: Callable[[int, int], None]) -> tuple[list[StepRun], list[fitting.Row], str]:
    """The steps, the idle rows, and why the staircase's last step was not measured ("" if it was)."""
    from calibrate.steps import Sampler

    with Sampler(target.probes, IDLE_S / 2) as idle:
        time.sleep(IDLE_S)
    idle_rows = idle.rows(-1)
    options = step_options(config, context, target)
    slo_p95, slo_errors = slo(context.scenario)
    specs = [StepSpec("mix-" + "-".join(tags), config.base_scale * factor, tags, on_mix=False)
             for tags, factor in zip(MIX_TAGS, MIX_SCALE, strict=True)]
    runs: list[StepRun] = []
    for i, spec in enumerate(specs):
        runs.append(run_step(i, spec, options, target.url, work, target.probes, config.step_seconds,
                             config.bin_seconds, say))
        on_step(len(runs), config.max_steps)
    first = config.base_scale * GROWTH ** FIRST_GROWTHS
    scale = first
    while len(runs) < config.max_steps:
        spec = StepSpec(f"stair-{scale:.3g}", scale)
        try:
            run = run_step(len(runs), spec, options, target.url, work, target.probes, config.step_seconds,
                           config.bin_seconds, say)
        except CalibrationError as exc:
            if scale == first:
                raise
            # a step far past the knee can leave the target unable to answer its busy-time probe
            # (2026-11-30: /metrics timed out after a step asking ~600 requests/s): the staircase
            # stops there and keeps the steps before it, as when a step breaks the SLO
            say(f"step {len(runs) + 1} {spec.name}: not measured ({exc}); the staircase stops here")
            return runs, idle_rows, f"{spec.name}: {exc}"
        runs.append(run)
        on_step(len(runs), config.max_steps)
        if not knees.judge(run.result, slo_p95, slo_errors).meets:  # by its last 10 s
            break
        scale *= GROWTH
    return runs, idle_rows, ""


def stable(result: knees.StepResult, slo_p95: float, slo_errors: float) -> bool:
    """Whether a step's busy time can enter the utilisation law's fit: a step past the knee
    (p95 or errors beyond the SLO) is overloaded: requests time out after the server spent
    work on them and its throughput is not what arrived (a step at 2x the knee had pulled the
    api's fit to R² 0.61 and the heartbeat's demand to 0), and a saturated generator's step
    measured the generator. Such steps still count for the knee."""
    return (result.trustworthy and result.error_rate <= slo_errors
            and (result.p95_ms or 0.0) <= slo_p95)


def slo(scenario: Scenario) -> tuple[float, float]:
    """The front tier's p95 (the first pool tier with a p95 target: every request passes it)
    and the scenario's error rate."""
    for tier in scenario.platform.tiers:
        slo = scenario.service_levels.tiers.get(tier.name)
        if tier.kind == "pool" and slo is not None and slo.p95_ms is not None:
            return float(slo.p95_ms), float(scenario.service_levels.error_rate)
    raise CalibrationError("service_levels: no pool tier has a p95_ms target to find the knee against")
