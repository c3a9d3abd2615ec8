"""``calibrate``: the whole run. Target up, idle reading, steps, fit, knee, platform file.

The steps (``calibrate.staircase``): one per journey group, then the staircase on the scenario's
own mix at rising scales until a step breaks the SLO, the generator saturates, or ``max_steps``
is reached. Then holds (``calibrate.confirm``): steps long enough for the queue to reach its steady
state near the knee, bisecting between the last staircase step that met the SLO and the first that
broke it, so that the knee is a rate a sustained load test met (docs/calibration.md, "How the numbers
are made").
The fits and the platform file's lines: ``calibrate.platform_lines``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate import fit as fitting
from calibrate import knee as knees
from calibrate import platform_file
from calibrate.config import Config
from calibrate.confirm import FIT_RESERVE_S, confirm, in_session_for_holds
from calibrate.errors import CalibrationError
from calibrate.knee import JUDGED_WINDOWS
from calibrate.knee_report import after_calibration
from calibrate.platform_lines import demand_lines, fit_tiers, tier_lines, writer_record, writer_thread
from calibrate.staircase import GROWTH, MIX_TAGS, measure, slo, stable, step_options
from calibrate.steps import WINDOW_S, StepRun
from calibrate.target import Target, host, reference
from domain.scenario import Scenario


@dataclass(frozen=True)
class Result:
    platform_path: Path
    provenance_path: Path
    fits: dict[str, fitting.TierFit]
    knee: knees.Knee
    steps: list[StepRun]
    wall_s: float


def calibrate(config: Config, context: Any, say: Callable[[str], None] = print,
              on_step: Callable[[int, int], None] | None = None) -> Result:
    """``context`` is the replay's ``loadtests.options.Context`` (plan, scenario, routes);
    ``on_step(done, at_most)`` hears each finished step (a progress bar)."""
    started = time.monotonic()
    platform_file.check_writable(config.out, config.force)
    scenario = context.scenario
    _check_routes(scenario, config.route_map, context.routes)
    work = config.work_dir or config.out.parent / f"{config.out.stem}-steps"
    work.mkdir(parents=True, exist_ok=True)
    deadline = started + config.budget_s - config.spent_s - FIT_RESERVE_S
    with _target(config, context, say) as target:
        runs, idle_rows, unmeasured = measure(config, context, target, work, say,
                                              on_step or (lambda done, total: None))
        shares = {str(sub): float(p) for sub, p in scenario.population.sub_platforms.items()}
        runs += confirm(config, context, target, work, runs, step_options(config, context, target), deadline,
                        GROWTH, slo(scenario), say, shares)
    slo_p95, slo_errors = slo(scenario)
    fitted = [r for r in runs if stable(r.result, slo_p95, slo_errors)]
    fits = fit_tiers(scenario, target, idle_rows, fitted, config.seed, runs)  # runs: commit_cpu
    knee = judged_on(knees.knee([r.result for r in runs], slo_p95, slo_errors), runs, config)
    provenance = _provenance(config, target, runs, fits, knee, time.monotonic() - started)
    provenance["left_out_of_fit"] = [r.spec.name for r in runs if r not in fitted]
    provenance["unmeasured_step"] = unmeasured
    provenance["background"] = platform_file.background(provenance["step_results"])  # what it ran beside
    # every bin's counts and busy seconds, so that a fit can be redone offline (step -1: idle)
    provenance["rows"] = [r.__dict__ for r in idle_rows + [row for run in runs for row in run.rows]]
    split = writer_record(target, fits, idle_rows + [row for run in fitted for row in run.rows], config.seed,
                          knee.rate_rps)
    provenance["writer"] = split
    tiers, demands = tier_lines(scenario, target, fits, split), demand_lines(scenario, fits, target)
    thread_line = writer_thread(scenario, target, [row for run in fitted for row in run.rows], config.seed)
    if thread_line is not None and "threads" in tiers.get(target.probes.api_tier, {}):
        tiers[target.probes.api_tier]["threads"]["writer"] = thread_line
    text = platform_file.render(scenario, config.scenario_path, config.out, tiers, demands, provenance)
    path, side = platform_file.write(config.out, text, provenance, config.force)
    step = next((r.spec for r in runs if r.spec.name == knee.step), None)
    if step is not None:  # the model's own knee on the same load, beside the measured one
        judged_s = float((JUDGED_WINDOWS if step.settle_s is not None else 1) * WINDOW_S)
        after_calibration(path, side, Path(config.model_results), knee, step.scale, judged_s, slo(scenario),
                          say)
    return Result(path, side, fits, knee, runs, time.monotonic() - started)


def judged_on(knee: knees.Knee, runs: list[StepRun], config: Config) -> knees.Knee:
    """The knee with the load it was judged on: its step's stretch, compression and judged
    minutes (a hold's: ``calibrate.holds``; a staircase step's: the last 10 s of its replay)."""
    spec = next((r.spec for r in runs if r.spec.name == knee.step), None)
    if spec is None:
        return knee
    compress = spec.compress or config.compress
    judged = spec.judged or f"the last {WINDOW_S} s of {config.step_seconds:g} s of {config.stretch}"
    text = (f"judged on {judged} at compress {compress:g}"
            + (", the sessions in progress at its first minute resumed" if spec.resume else ""))
    return dataclasses.replace(knee, stretch=spec.stretch or config.stretch, compress=compress, judged=judged,
                               resumed=spec.resume, how=f"{knee.how}; {text}" if knee.how else text)


def _check_routes(scenario: Scenario, route_map: Path | None, routes: dict[str, Any]) -> None:
    if route_map is None:
        return
    import yaml

    named = yaml.safe_load(route_map.read_text(encoding="utf-8")) or {}
    missing = [e.name for e in scenario.platform.endpoints if e.name not in named]
    if missing:
        raise CalibrationError(f"--route-map: {route_map}: missing endpoint {missing[0]!r} "
                               "(a calibration maps every endpoint of the scenario)")


@contextlib.contextmanager
def _target(config: Config, context: Any, say: Callable[[str], None]) -> Iterator[Target]:
    if config.target is not None:
        yield config.target
        return
    if config.host:
        yield host(config.host, config.accounts, config.answers, config.database_url)
        return
    with reference_for(config, context, say) as target:
        yield target


def reference_for(config: Config, context: Any,
                  say: Callable[[str], None] = print) -> contextlib.AbstractContextManager[Target]:
    """The reference platform as ``config`` asks for it, seeded for the replayed stretch."""
    plan = context.plan
    clock = plan.first_minute.replace(tzinfo=None).isoformat(timespec="minutes")
    teachers = config.teachers or 400
    shares = {str(sub): float(p) for sub, p in context.scenario.population.sub_platforms.items()}
    # the holds resume the sessions in progress (calibrate.holds): accounts seeded in a session
    # for them, as a validation level's target has (a sign-in each would be an argon2 burst); a
    # hold runs at most at the geometric middle of the staircase's last two scales
    top = config.base_scale * GROWTH ** (max(0, config.max_steps - len(MIX_TAGS) - 1) - 0.5)
    resumed = in_session_for_holds(config, context, top, shares, teachers)
    return reference(config.scenario_path, teachers, clock, config.sms_code,
                     config.server_workers, plan.compress, clock, config.model_results,
                     config.database_url, say, resumed)


def _git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10)
        return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _provenance(config: Config, target: Target, runs: list[StepRun], fits: dict[str, Any], knee: knees.Knee,
                wall_s: float) -> dict[str, Any]:
    return {
        "kind": "calibration", "version": 1,
        "target": target.url if config.host else target.kind, "target_kind": target.kind,
        "target_url": target.url, "commit": _git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scenario": str(config.scenario_path), "stretch": config.stretch, "compress": config.compress,
        "steps": len(runs), "step_seconds": config.step_seconds, "bin_seconds": config.bin_seconds,
        "requests": int(sum(sum(r.server_requests.values()) for r in runs)),
        "busy_time_sources": target.probes.sources, "wall_s": round(wall_s, 1),
        "step_results": [{**dataclasses.asdict(r.result), "scale": r.spec.scale, "tags": list(r.spec.tags),
                          "seconds": r.spec.seconds or config.step_seconds, "stretch": r.spec.stretch,
                          "compress": r.spec.compress or config.compress, "resume_sessions": r.spec.resume,
                          "judged": r.spec.judged,
                          "wall_s": round(r.wall_s, 1), "background_cores": r.background_cores,
                          "host_cores": r.host_cores,
                          "generator_cores": platform_file.generator_cores(r.summary),
                          "server_requests": r.server_requests} for r in runs],
        "fits": {tier: {"idle_rate": f.idle_rate, "r2": f.r2, "rows": f.rows,
                        "demands_ms": {e: d.__dict__ for e, d in f.demands.items()},
                        "wakeup_profile": [list(p) for p in f.profile]}
                 for tier, f in fits.items()},
        "knee": knee.__dict__,
    }
