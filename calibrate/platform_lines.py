"""From the calibration's measured rows to the platform file's lines: the tiers' fits
(``fit_tiers``: the api's event loops, the database or its group-commit writer), how the writer's
commit and write costs were found (``writer_record``), the PostgreSQL reference's writer thread
(``writer_thread``), and what is written per tier (``tier_lines``) and per endpoint (``demand_lines``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from calibrate import commit_cpu, cpu_growth, demands, routecpu, spread, writer
from calibrate import fit as fitting
from calibrate.steps import StepRun
from calibrate.target import Target
from domain.scenario import PoolTier, Scenario


def fit_tiers(scenario: Scenario, target: Target, idle_rows: list[fitting.Row], runs: list[StepRun],
         seed: int, every: list[StepRun] | None = None) -> dict[str, fitting.TierFit]:
    """``runs``: the steps the demands are fitted on; ``every``: all the calibration's steps, the
    overloaded too, for the group commits' CPU a commit and a job (``calibrate.commit_cpu``)."""
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
        counted = list(idle_rows) + [row for run in (every or runs) for row in run.rows]
        fits[api] = _with_laws(fits[api], rows, runs, endpoints, loops, seed, counted)
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


def _with_laws(fit: fitting.TierFit, rows: list[fitting.Row], runs: list[StepRun], endpoints: list[str],
               servers: int, seed: int, counted: list[fitting.Row] | None = None) -> fitting.TierFit:
    """The api's fit with the law of its CPU per request on the host's busy cores
    (``calibrate.cpu_growth``) and its group commits' CPU a commit and a job
    (``calibrate.commit_cpu``), on the same rows and demands; their own generators, so that the
    other fits' intervals stay as they were. When the commits' law is written, the growth is
    fitted on what it leaves (each effect counted once: ``cpu_growth.bins``' ``commits``)."""
    from dataclasses import replace

    measured = [(run, getattr(run, "background_cores", None)) for run in runs]
    background = {row.step: float(other) for run, other in measured if other is not None for row in run.rows}
    demands_ms = {e: d.ms for e, d in fit.demands.items() if e in endpoints}
    wakeup = fit.demands.get(fitting.WAKEUPS)
    commits = commit_cpu.fit_commit_cpu(fit.tier, counted or rows, endpoints, np.random.default_rng(seed + 2),
                                        rows)
    written = commits if commit_cpu.line(commits) is not None else None
    data = cpu_growth.bins(rows, background, fit.tier, endpoints, demands_ms, wakeup.ms if wakeup else 0.0,
                           fit.idle_rate, servers, written)
    growth = cpu_growth.fit_growth(data, np.random.default_rng(seed + 1))
    return replace(fit, growth=growth, commit_cpu=commits)


def writer_record(target: Target, fits: dict[str, fitting.TierFit], rows: list[fitting.Row],
                   seed: int, knee_rps: float | None = None) -> dict[str, Any] | None:
    """How the group-commit writer's commit and write costs were found (``calibrate.writer``),
    for the provenance and the tier's note; None without a group-commit writer. The lock's
    spreads and retries are read over the steps below half the knee (``knee_rps``;
    ``calibrate.spread.below_knee``), the holds' means over all ``rows``."""
    tier = target.probes.database_tier
    if tier not in fits or fitting.BATCHES not in fits[tier].demands:
        return None
    found = writer.fit_writer(rows, tier, np.random.default_rng(seed))  # as ``fit_tiers`` found it
    why = writer.why_not(rows)
    if found is not None and fits[tier].demands[fitting.BATCHES] != found.commit:  # fit_tiers kept its own
        found, why = None, "the writer's jobs per endpoint are not counted (yanxiu_commit_jobs_sum)"
    quiet = spread.below_knee(rows, knee_rps)
    return writer.record(found, why) | {"text": found.text() if found else "",
                                        "route_holds": writer.route_holds(rows, quiet),
                                        "service": writer.commit_service(quiet)}


def _batches(target: Target, tier: str, rows: list[fitting.Row]) -> list[str]:
    """The batch regressor for a writer whose busy time is its group commits' (SQLite's lock)."""
    commits = tier == target.probes.database_tier and "commit" in target.probes.sources.get("database", "")
    return [fitting.BATCHES] if commits and any(fitting.BATCHES in r.requests for r in rows) else []


def writer_thread(scenario: Scenario, target: Target, rows: list[fitting.Row],
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


def tier_lines(scenario: Scenario, target: Target, fits: dict[str, fitting.TierFit],
                split: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``split``: how the group-commit writer's costs were found (``writer_record``)."""
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
        growth = fits[api].growth  # the CPU per request against the host's busy cores
        if growth is not None:
            law = cpu_growth.line(growth)
            said = "written as cpu_growth" if law else (
                "not significant beyond the group commits' law: no cpu_growth" if growth.after_commits
                else "not significant: constant demands")
            out[api]["note"] = f"{out[api]['note']}; {growth.text()}, {said}"
            out[api] |= {"cpu_growth": law} if law else {}
        commits = fits[api].commit_cpu  # the group commits' CPU, a commit's and a job's
        if commits is not None:
            shares = commit_cpu.line(commits)
            said = "written as commit_cpu" if shares else "a commit's own not significant: constant"
            out[api]["note"] = f"{out[api]['note']}; {commits.text()}, {said}"
            out[api] |= {"commit_cpu": shares} if shares else {}
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
            shape = (split or {}).get("service") if sqlite else None  # the commits' spread (calibrate.spread)
            if shape and not writer.WRITE_SPREADS:  # measured, named, not served (calibrate.writer)
                named = f"the commits' scv {shape['scv']:.3g} (yanxiu_commit_seconds), not served"
                out[db]["note"] = f"{out[db]['note']}; {named}"
            elif shape:
                why = f"service: lognormal, scv {shape['scv']:.3g} (the commits', yanxiu_commit_seconds)"
                out[db] |= {"service": shape, "note": f"{out[db]['note']}; {why}"}
            names = {e.name for e in scenario.platform.endpoints}  # the routes' own transactions on the lock
            holds = writer.for_endpoints((split or {}).get("route_holds"), names) if sqlite else None
            out[db] |= {"route_holds": holds} if holds else {}
    for name, why in absent_tiers(scenario, target).items():  # kept, but no endpoint visits it
        tier = scenario.platform.tier(name)
        assert isinstance(tier, PoolTier)
        out[name] = {"servers": tier.servers, "service": tier.service, "note": why}
    return out


def absent_tiers(scenario: Scenario, target: Target | None) -> dict[str, str]:
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


def demand_lines(scenario: Scenario, fits: dict[str, fitting.TierFit],
                  target: Target | None = None) -> dict[str, dict[str, Any]]:
    """Per endpoint and tier the demand to write (``calibrate.demands``); a tier the target
    does not have (the reference's SMS vendor: ``Target.absent``) is not visited."""
    return demands.lines(scenario, fits, absent_tiers(scenario, target))
