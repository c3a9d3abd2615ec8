"""What a load-test run leaves behind: ``arrivals.csv`` and ``summary.json`` (docs/results.md).

Built in the master (or the single local process) when Locust quits, from Locust's own
statistics (``environment.stats``) and the arrivals and CPU samples the load-generating
processes reported (``loadtests.arrivals.Tally``).

A run is *trustworthy* when the generator kept up and the sessions really exercised the
target (``loadtests.verdict``: the reasons it is not are listed in ``verdict``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from loadtests.noise import as_record
from loadtests.plan import TOLERANCE, achieved_per_bin, bin_errors
from loadtests.timing import LEAD_S
from loadtests.verdict import SessionHealth, exception_health, judge
from records import LoadtestSummary, build, write_summary
from records.tables import LOADTEST_ARRIVALS

SATURATED_PCT = 90.0
SATURATION_RUN = 3  # consecutive one-second samples
PERCENTILES = (0.5, 0.95, 0.99)


def arrivals_table(plan, starts: list[float], bin_s: float) -> list[dict]:
    edges = plan.bins(bin_s)
    planned = plan.planned_per_bin(edges)
    achieved = achieved_per_bin(starts, edges)
    errors = bin_errors(planned, achieved)
    return [{"bin": i, "planned": round(float(p), 3), "achieved": int(a),
             "start_s": round(float(edges[i]), 3), "end_s": round(float(edges[i + 1]), 3),
             "error": round(float(e), 4)}
            for i, (p, a, e) in enumerate(zip(planned, achieved, errors, strict=True))]


def cpu_figures(samples: dict[str, list[float]]) -> dict:
    """Max and mean CPU % of the busiest process; saturated if some process stayed above 90%
    for ``SATURATION_RUN`` samples running."""
    every = [s for series in samples.values() for s in series]
    saturated = False
    for series in samples.values():
        if len(series) >= SATURATION_RUN:
            runs = np.convolve(np.asarray(series) > SATURATED_PCT, np.ones(SATURATION_RUN), "valid")
            saturated = saturated or bool((runs >= SATURATION_RUN).any())
    return {"max": round(max(every), 1) if every else None,
            "mean": round(float(np.mean(every)), 1) if every else None,
            "saturated": saturated, "processes": len(samples),
            "threshold_pct": SATURATED_PCT}


def endpoint_figures(stats) -> dict[str, dict]:
    out = {}
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        out[entry.name] = _figures(entry)
    return out


def _figures(entry) -> dict:
    n = entry.num_requests
    p50, p95, p99 = (float(entry.get_response_time_percentile(p)) if n else None for p in PERCENTILES)
    return {"requests": n, "failures": entry.num_failures, "rps": round(entry.total_rps, 3),
            "error_rate": round(entry.num_failures / n, 6) if n else 0.0,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


def build_summary(environment, context, tally, host: str | None) -> tuple[LoadtestSummary, list[dict]]:
    plan, options = context.plan, context.options
    table = arrivals_table(plan, tally.starts, options.bin_seconds)
    max_error = max((row["error"] for row in table), default=0.0)
    within = max_error <= TOLERANCE + 1e-9 and tally.dropped == 0
    cpu = cpu_figures(tally.cpu)
    endpoints = endpoint_figures(environment.stats)
    total = _figures(environment.stats.total)
    metrics = _metrics(endpoints, total, max_error, cpu)
    health = session_health(environment.runner, tally)
    verdict = judge(within=within, max_bin_error=max_error, dropped=tally.dropped, saturated=cpu["saturated"],
                    health=health, error_rate=total["error_rate"], requests=total["requests"],
                    thresholds=list(context.scenario.thresholds))
    summary = {
        "kind": "loadtest",
        "scenario": context.scenario.name,
        "scenario_path": str(context.options.scenario),
        "model_results": str(context.model_folder) if context.model_folder else None,
        "stretch": context.stretch.label,
        "stretch_first_minute": plan.first_minute.isoformat(),
        "compress": plan.compress,
        "scale": plan.scale,
        "host": host,
        "duration_s": round(plan.duration_s, 3),
        "set_up_s": plan.set_up_s() if getattr(options, "resume_sessions", 0) else 0.0,
        "lead_s": LEAD_S,
        "arrival_process": options.arrival_process,
        "endpoints": endpoints,
        "total": total,
        "arrivals": {"planned": round(plan.total(), 3), "achieved": len(tally.starts),
                     "dropped": tally.dropped, "by_process": dict(tally.by_process),
                     "cut": tally.cut, "idle": health.idle_sessions, "resumed": tally.resumed,
                     "no_account": dict(health.no_account), "untasked": dict(health.untasked),
                     "late_s_max": round(tally.late_s_max, 3),
                     "bin_s": options.bin_seconds, "max_bin_error": round(max_error, 4),
                     "within_10pct": bool(within)},
        "generator_cpu": cpu,
        "exceptions": {"count": health.exceptions, "top": health.top_exception},
        "trustworthy": verdict.trustworthy,
        "verdict": verdict.reasons,
        "metrics": metrics,
        "session_bins": as_record(tally.bins),
    }
    return build(LoadtestSummary, summary), table


def session_health(runner, tally) -> SessionHealth:
    count, top = exception_health(getattr(runner, "exceptions", None) or {})
    return SessionHealth(count, top, tally.idle, dict(tally.no_account), dict(tally.untasked))


def _metrics(endpoints: dict, total: dict, max_error: float, cpu: dict) -> dict:
    metrics: dict[str, float] = {}
    for name, fig in [*endpoints.items(), ("all", total)]:
        for p in ("p50", "p95", "p99"):
            if fig[f"{p}_ms"] is not None:
                metrics[f"{p}(latency.{name})"] = fig[f"{p}_ms"]
        metrics[f"mean(rps.{'total' if name == 'all' else name})"] = fig["rps"]
    metrics["rate(errors)"] = total["error_rate"]
    metrics["max(arrivals.bin_error)"] = round(max_error, 4)
    if cpu["max"] is not None:
        metrics["max(generator.cpu)"] = cpu["max"] / 100.0
    return metrics


def write_results(folder: str | Path, summary: LoadtestSummary, table: list[dict] | None = None) -> None:
    folder = Path(folder)
    write_summary(folder, summary)
    if table is not None:
        fields = list(table[0]) if table else list(LOADTEST_ARRIVALS.required)
        LOADTEST_ARRIVALS.check(fields, folder / LOADTEST_ARRIVALS.file)
        with (folder / LOADTEST_ARRIVALS.file).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(table)
