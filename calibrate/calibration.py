"""``calibrate``: the whole run. Target up, idle reading, steps, fit, knee, platform file.

Steps, in order: one per journey group (``MIX_TAGS``: mixes that differ, so that the fit
can tell endpoints apart), then the staircase on the scenario's own mix at rising scales
until a step breaks the SLO (p95 of all requests above the front tier's ``p95_ms``, or errors
above ``service_levels.error_rate``), the generator saturates, or ``max_steps`` is reached.
Then holds (``calibrate.confirm``): steps long enough for the queue to reach its steady state near the
knee, bisecting between the last staircase step that met the SLO and the first that broke it,
so that the knee is a rate a sustained load test met (docs/calibration.md, "The knee").
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibrate import fit as fitting
from calibrate import knee as knees
from calibrate import platform_file, routecpu, writer
from calibrate.confirm import FIT_RESERVE_S, confirm, in_session_for_holds
from calibrate.demands import lines as demand_lines
from calibrate.errors import CalibrationError
from calibrate.holds import VALIDATION_COMPRESS
from calibrate.steps import WINDOW_S, StepRun, StepSpec, run_step
from calibrate.target import Target, host, reference
from domain.scenario import PoolTier, Scenario

# (the campaign page enrols: study and test journeys need it before their first request)
# and the multiple of the base scale each runs at (its journeys are a part of all: registrations
# are a few percent of the sessions, so their step needs a larger scale to finish enough requests)
MIX_TAGS: tuple[tuple[str, ...], ...] = (("campaign", "study"), ("campaign", "test"), ("register",))
MIX_SCALE: tuple[float, ...] = (3.0, 3.0, 100.0)
GROWTH = 1.7  # the staircase's ratio between steps
IDLE_S = 4.0


@dataclass
class Config:
    scenario_path: Path
    model_results: Path
    out: Path  # the platform file
    force: bool = False
    host: str | None = None
    route_map: Path | None = None
    accounts: Path | None = None
    answers: Path | None = None
    database_url: str | None = None
    server_workers: int = 2
    stretch: str = "peak-hour"
    compress: float = 144.0
    base_scale: float = 0.1
    step_seconds: float = 25.0
    bin_seconds: float = 5.0
    max_steps: int = 10
    max_holds: int = 3  # confirmation holds at most (0: the knee from the staircase, unconfirmed)
    # the holds' compression: the validation levels' (bench/bench_calibrate.py --test-compress), so
    # that a hold's judged minutes carry as many sessions in flight per request as a level's
    hold_compress: float = VALIDATION_COMPRESS
    budget_s: float = 600.0  # the whole calibration's wall time (issue 12's bar); holds fit in it
    spent_s: float = 0.0  # already spent by the caller before ``calibrate`` (a target it seeded)
    seed: int = 0
    sms_code: str = "246810"
    teachers: int | None = None
    work_dir: Path | None = None
    extra_options: dict[str, Any] = field(default_factory=dict)
    target: Target | None = None  # a target already running (bench/bench_calibrate.py)


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
        runs, idle_rows, unmeasured = _measure(config, context, target, work, say,
                                               on_step or (lambda done, total: None))
        shares = {str(sub): float(p) for sub, p in scenario.population.sub_platforms.items()}
        runs += confirm(config, context, target, work, runs, _options(config, context, target), deadline,
                        GROWTH, _slo(scenario), say, shares)
    slo_p95, slo_errors = _slo(scenario)
    fitted = [r for r in runs if _stable(r.result, slo_p95, slo_errors)]
    fits = _fit(scenario, target, idle_rows, fitted, config.seed)
    knee = _judged_on(knees.knee([r.result for r in runs], slo_p95, slo_errors), runs, config)
    provenance = _provenance(config, target, runs, fits, knee, time.monotonic() - started)
    provenance["left_out_of_fit"] = [r.spec.name for r in runs if r not in fitted]
    provenance["unmeasured_step"] = unmeasured
    provenance["background"] = platform_file.background(provenance["step_results"])  # what it ran beside
    # every bin's counts and busy seconds, so that a fit can be redone offline (step -1: idle)
    provenance["rows"] = [r.__dict__ for r in idle_rows + [row for run in runs for row in run.rows]]
    split = _writer_record(target, fits, idle_rows + [row for run in fitted for row in run.rows], config.seed)
    provenance["writer"] = split
    tiers, demands = _tier_lines(scenario, target, fits, split), _demand_lines(scenario, fits, target)
    writer_thread = _thread_writer(scenario, target, [row for run in fitted for row in run.rows], config.seed)
    if writer_thread is not None and "threads" in tiers.get(target.probes.api_tier, {}):
        tiers[target.probes.api_tier]["threads"]["writer"] = writer_thread
    text = platform_file.render(scenario, config.scenario_path, config.out, tiers, demands, provenance)
    path, side = platform_file.write(config.out, text, provenance, config.force)
    return Result(path, side, fits, knee, runs, time.monotonic() - started)


def _judged_on(knee: knees.Knee, runs: list[StepRun], config: Config) -> knees.Knee:
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


def _options(config: Config, context: Any, target: Target) -> dict[str, Any]:
    return {"scenario": str(config.scenario_path), "model_results": str(config.model_results),
            "stretch": config.stretch, "compress": config.compress, "accounts": str(target.accounts),
            "answers": str(target.answers or ""), "route_map": str(config.route_map or ""),
            "sms_code": config.sms_code, "arrival_process": "deterministic", "bin_seconds": 10.0,
            "seed": config.seed, **config.extra_options}


def _measure(config: Config, context: Any, target: Target, work: Path, say: Callable[[str], None],
             on_step: Callable[[int, int], None]) -> tuple[list[StepRun], list[fitting.Row], str]:
    """The steps, the idle rows, and why the staircase's last step was not measured ("" if it was)."""
    from calibrate.steps import Sampler

    with Sampler(target.probes, IDLE_S / 2) as idle:
        time.sleep(IDLE_S)
    idle_rows = idle.rows(-1)
    options = _options(config, context, target)
    slo_p95, slo_errors = _slo(context.scenario)
    specs = [StepSpec("mix-" + "-".join(tags), config.base_scale * factor, tags, on_mix=False)
             for tags, factor in zip(MIX_TAGS, MIX_SCALE, strict=True)]
    runs: list[StepRun] = []
    for i, spec in enumerate(specs):
        runs.append(run_step(i, spec, options, target.url, work, target.probes, config.step_seconds,
                             config.bin_seconds, say))
        on_step(len(runs), config.max_steps)
    scale = config.base_scale
    while len(runs) < config.max_steps:
        spec = StepSpec(f"stair-{scale:.3g}", scale)
        try:
            run = run_step(len(runs), spec, options, target.url, work, target.probes, config.step_seconds,
                           config.bin_seconds, say)
        except CalibrationError as exc:
            if scale == config.base_scale:
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


def _stable(result: knees.StepResult, slo_p95: float, slo_errors: float) -> bool:
    """Whether a step's busy time can enter the utilisation law's fit: a step past the knee
    (p95 or errors beyond the SLO) is overloaded: requests time out after the server spent
    work on them and its throughput is not what arrived (a step at 2x the knee had pulled the
    api's fit to R² 0.61 and the heartbeat's demand to 0), and a saturated generator's step
    measured the generator. Such steps still count for the knee."""
    return (result.trustworthy and result.error_rate <= slo_errors
            and (result.p95_ms or 0.0) <= slo_p95)


def _slo(scenario: Scenario) -> tuple[float, float]:
    """The front tier's p95 (the first pool tier with a p95 target: every request passes it)
    and the scenario's error rate."""
    for tier in scenario.platform.tiers:
        slo = scenario.service_levels.tiers.get(tier.name)
        if tier.kind == "pool" and slo is not None and slo.p95_ms is not None:
            return float(slo.p95_ms), float(scenario.service_levels.error_rate)
    raise CalibrationError("service_levels: no pool tier has a p95_ms target to find the knee against")


def _fit(scenario: Scenario, target: Target, idle_rows: list[fitting.Row], runs: list[StepRun],
         seed: int) -> dict[str, fitting.TierFit]:
    endpoints = [e.name for e in scenario.platform.endpoints]
    rows = list(idle_rows) + [row for run in runs for row in run.rows]
    rng = np.random.default_rng(seed)
    fits = {}
    api = target.probes.api_tier
    if any(api in row.busy_s for row in rows):
        # the workers are event loops: a fixed cost per wake-up, shared by the requests ready
        # then (docs/tiers.md); profiled with the demands
        loops = target.api_servers or _servers(scenario, api)
        if routecpu.usable(api, rows, endpoints):  # the target says what each route spent
            fits[api] = routecpu.fit_measured_loop(api, rows, endpoints, loops, rng)
        else:
            fits[api] = fitting.fit_event_loop(api, rows, endpoints, loops, rng)
    tier = target.probes.database_tier
    if any(tier in row.busy_s for row in rows):
        batches = _batches(target, tier, rows)
        # a group-commit writer: only the endpoints whose requests are its jobs take its lock
        writing = fitting.writers(rows, endpoints) if batches else None
        fits[tier] = fitting.fit_tier(tier, rows, (writing or endpoints) + batches, rng)
        # the commit's and a write's cost from the server's commit timings by size, where it has them
        split = writer.fit_writer(rows, tier, np.random.default_rng(seed)) if batches and writing else None
        fits[tier] = writer.as_tier(fits[tier], split) if split else fits[tier]
    return fits


def _writer_record(target: Target, fits: dict[str, fitting.TierFit], rows: list[fitting.Row],
                   seed: int) -> dict[str, Any] | None:
    """How the group-commit writer's commit and write costs were found (``calibrate.writer``),
    for the provenance and the tier's note; None without a group-commit writer."""
    tier = target.probes.database_tier
    if tier not in fits or fitting.BATCHES not in fits[tier].demands:
        return None
    found = writer.fit_writer(rows, tier, np.random.default_rng(seed))  # as ``_fit`` found it
    why = writer.why_not(rows)
    if found is not None and fits[tier].demands[fitting.BATCHES] != found.commit:  # ``_fit`` kept its own
        found, why = None, "the writer's jobs per endpoint are not counted (yanxiu_commit_jobs_sum)"
    return writer.record(found, why) | {"text": found.text() if found else "",
                                        "route_holds": writer.route_holds(rows)}


def _batches(target: Target, tier: str, rows: list[fitting.Row]) -> list[str]:
    """The batch regressor for a writer whose busy time is its group commits' (SQLite's lock)."""
    commits = tier == target.probes.database_tier and "commit" in target.probes.sources.get("database", "")
    return [fitting.BATCHES] if commits and any(fitting.BATCHES in r.requests for r in rows) else []


def _thread_writer(scenario: Scenario, target: Target, rows: list[fitting.Row],
                   seed: int) -> dict[str, Any] | None:
    """The PostgreSQL reference's writer threads (``calibrate.thread_writer``): its heartbeats
    wait for their worker's writer thread, whose wall time no tier's busy time holds; None on
    SQLite (the loops commit: ``batched_by``) and on a target not the reference."""
    import inspect

    from calibrate.thread_writer import thread_writer
    from reference.committer import ThreadCommitter

    sqlite = "commit" in target.probes.sources.get("database", "")
    if target.absent is None or sqlite or not getattr(target, "database_url", None):
        return None
    linger_s = inspect.signature(ThreadCommitter).parameters["linger_s"].default  # the reference's setting
    names = [e.name for e in scenario.platform.endpoints]
    return thread_writer(rows, names, target.probes.database_tier, 1000.0 * linger_s,
                         np.random.default_rng(seed))


def _tier_lines(scenario: Scenario, target: Target, fits: dict[str, fitting.TierFit],
                split: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``split``: how the group-commit writer's costs were found (``_writer_record``)."""
    out = {}
    api, db = target.probes.api_tier, target.probes.database_tier
    if api in fits:
        servers = target.api_servers or _servers(scenario, api)
        out[api] = {"servers": servers, "service": "exponential",
                    "note": f"servers: worker processes ({target.probes.sources.get('api')}); idle "
                            f"{fits[api].idle_rate:.3f} core, R² {fits[api].r2:.3f}"
                            + (f"; demands: {fits[api].how}" if fits[api].how else "")}
        wakeup = fits[api].demands.get(fitting.WAKEUPS)
        if wakeup is not None:  # 0: fixed demands explain the steps as well (no wakeup_ms)
            loop = (f"event loop: {wakeup.ms:.3g} [{wakeup.lo_ms:.3g}, {wakeup.hi_ms:.3g}] ms a wake-up "
                    f"over {wakeup.requests:,} predicted wake-ups")
            out[api]["note"] = f"{out[api]['note']}; {loop}"
            out[api] |= {"wakeup_ms": wakeup.ms} if wakeup.ms > 0 else {}
        if target.absent is not None:  # the reference platform: how its workers serve (threads.py)
            from calibrate.threads import worker_threads

            database = getattr(target, "database_url", None)
            out[api]["threads"] = worker_threads(scenario.platform.endpoints, database)
    if db in fits:
        sqlite = "commit" in target.probes.sources.get("database", "")
        # busy time that is the database host's CPU (PostgreSQL) is served by that host's cores
        servers = 1 if sqlite else target.database_servers or _servers(scenario, db)
        note = (("servers 1: SQLite has one writer; " if sqlite else
                 f"servers {servers}: the database host's cores; " if target.database_servers else
                 "servers: the scenario's; ")
                + f"busy time from {target.probes.sources.get('database')}, R² {fits[db].r2:.3f}")
        out[db] = {"servers": servers, "service": "exponential", "note": note}
        batch = fits[db].demands.get(fitting.BATCHES)
        if batch is not None:
            commit = f"{batch.ms:.3g} [{batch.lo_ms:.3g}, {batch.hi_ms:.3g}] ms"
            how = (split or {}).get("text") or (f"by the utilisation law ({split['why']})" if split else "")
            out[db] |= {"discipline": "group-commit", "commit_ms": batch.ms,
                        "note": f"{note}; group commit: {commit} a batch over {batch.requests:,} batches"
                                + (f"; {how}" if how else "")}
            if sqlite and api in out:  # the workers' event loops commit their turns' writes (LoopCommitter)
                out[db] |= {"batched_by": api, "note": f"{out[db]['note']}; batches: the {api} loops' turns"}
            names = {e.name for e in scenario.platform.endpoints}  # the routes' own transactions on the lock
            holds = writer.for_endpoints((split or {}).get("route_holds"), names) if sqlite else None
            out[db] |= {"route_holds": holds} if holds else {}
    for name, why in _absent_tiers(scenario, target).items():  # kept, but no endpoint visits it
        tier = scenario.platform.tier(name)
        assert isinstance(tier, PoolTier)
        out[name] = {"servers": tier.servers, "service": tier.service, "note": why}
    return out


def _absent_tiers(scenario: Scenario, target: Target | None) -> dict[str, str]:
    """Pool tiers of the scenario that the target has not (neither its api nor its database),
    when the target says it has only those (the reference platform); else none."""
    if target is None or target.absent is None:
        return {}
    kept = {target.probes.api_tier, target.probes.database_tier}
    return {t.name: target.absent for t in scenario.platform.tiers
            if isinstance(t, PoolTier) and t.name not in kept}


def _servers(scenario: Scenario, name: str) -> int:
    tier = scenario.platform.tier(name)
    return tier.servers if isinstance(tier, PoolTier) else 1


def _demand_lines(scenario: Scenario, fits: dict[str, fitting.TierFit],
                  target: Target | None = None) -> dict[str, dict[str, Any]]:
    """Per endpoint and tier the demand to write (``calibrate.demands``); a tier the target
    does not have (the reference's SMS vendor: ``Target.absent``) is not visited."""
    return demand_lines(scenario, fits, _absent_tiers(scenario, target))


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
