"""The platform file a calibration writes, and its provenance.

``platform.yaml`` is a scenario overlay: ``extends:`` the calibrated scenario and a
``platform:`` section whose measured tiers and endpoints replace the scenario's (lists are
replaced whole when a scenario extends another, domain.scenario.compose_document). So
``yanxiu run platform.yaml`` sizes with the measured numbers, and another scenario can take
the section over. Every measured number carries its provenance in a comment on its line
(95% interval, requests seen); the head comment names the target, git commit, date and
steps; ``calibration.json`` beside it holds all of it machine-readably (``records``-style:
built once, written once). Numbers not measured (tiers the probes cannot see, endpoints the
steps never exercised) keep the scenario's value and say so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from calibrate.errors import CalibrationError
from domain.scenario import Scenario


def check_writable(path: Path, force: bool) -> None:
    """Refuse before measuring anything, not after ten minutes of steps."""
    if path.exists() and not force:
        raise CalibrationError(f"{path}: exists (use --force to overwrite it)")
    if not path.parent.exists():
        raise CalibrationError(f"{path.parent}: no such folder")


def _number(value: float) -> str:
    return f"{value:.4g}"


def _steps_text(provenance: dict[str, Any]) -> str:
    """"8 steps of 20 s and 2 holds of 83-97 s": holds (the knee's confirmation) last longer than
    the staircase's steps, and one length for all would misstate the run."""
    results = provenance.get("step_results") or []
    holds = [r["seconds"] for r in results if r.get("stretch")]
    staircase = len(results) - len(holds) if results else provenance["steps"]
    text = f"{staircase} steps of {provenance['step_seconds']:g} s"
    if holds:
        span = f"{min(holds):.0f}" if min(holds) == max(holds) else f"{min(holds):.0f}-{max(holds):.0f}"
        text += f" and {len(holds)} hold{'s' if len(holds) > 1 else ''} of {span} s"
    return text


def generator_cores(summary: dict[str, Any]) -> float | None:
    """The load generator's mean CPU in cores over a load test (its summary's ``generator_cpu``:
    percent of a core per process)."""
    cpu = summary.get("generator_cpu") or {}
    if cpu.get("mean") is None:
        return None
    return float(cpu["mean"]) * max(1, int(cpu.get("processes") or 1)) / 100.0


def background(step_results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What a calibration's steps ran beside (each step's ``background_cores``: the host's CPU
    less the server's, and ``generator_cores``), weighted by the steps' wall time: the api's CPU
    per request grows with the host's other work (docs/calibration.md), so its demands hold for
    a machine about this busy. ``other_cores``: beside the load generator. None: not sampled
    (a ``--host`` target)."""
    rows = [r for r in step_results if r.get("background_cores") is not None]
    if not rows:
        return None
    weights = [max(1e-9, float(r.get("wall_s") or 1.0)) for r in rows]

    def mean(values: list[float]) -> float:
        return round(sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights), 3)

    total = [float(r["background_cores"]) for r in rows]
    other = [max(0.0, t - float(r.get("generator_cores") or 0.0)) for t, r in zip(total, rows, strict=True)]
    return {"host_cores": rows[0].get("host_cores"), "mean_cores": mean(total),
            "max_cores": round(max(total), 3), "other_cores": mean(other),
            "max_other_cores": round(max(other), 3), "steps": len(rows)}


def _background_text(provenance: dict[str, Any]) -> str:
    found = provenance.get("background")
    if not found:
        return "# The host's other work was not sampled (a target not started here)."
    return (f"# Beside {found['other_cores']:.2f} cores of other work on the host's {found['host_cores']} "
            f"(mean over the steps, max {found['max_other_cores']:.2f}; {found['mean_cores']:.2f} with the "
            "load generator): the api's CPU per request grows with it.")


def _knee_text(provenance: dict[str, Any]) -> str:
    """The knee and the load it was judged on (``calibrate.calibration.judged_on``): a knee is a
    rate on one replay's minutes at one compression, and another compression is another load."""
    knee = provenance.get("knee") or {}
    if knee.get("rate_rps") is None:
        return f"# Knee: none found ({knee.get('note') or 'no step met the SLO'})."
    judged = (f", judged on {knee['judged']} at compress {knee['compress']:g}"
              + (" with the sessions in progress resumed" if knee.get("resumed") else "")
              if knee.get("judged") and knee.get("compress") else "")
    return (f"# Knee: {knee['rate_rps']:.0f} req/s at p95 <= {knee['slo_p95_ms']:g} ms ({knee['step']}, "
            f"{'confirmed' if knee.get('confirmed') else 'not confirmed'}{judged}).")


def render(scenario: Scenario, scenario_path: Path, out: Path, tiers: dict[str, dict[str, Any]],
           demands: dict[str, dict[str, Any]],
           provenance: dict[str, Any]) -> str:
    """The YAML text: ``tiers`` name -> {"servers", "service", "note"}; ``demands`` endpoint ->
    tier -> {"ms", "lo", "hi", "requests", "measured", "visits", "why"} (``calibrate.demands``)."""
    relative = os.path.relpath(scenario_path.resolve(), out.parent.resolve())
    lines = [
        f"# Platform measured by `yanxiu calibrate` against {provenance['target']}",
        f"# ({provenance['target_kind']}), git commit {provenance['commit']}, {provenance['date']};",
        f"# {_steps_text(provenance)}, "
        f"{provenance['requests']:,} requests; demands by the utilisation law (NNLS), "
        "[95% block-bootstrap interval over steps].",
        _background_text(provenance),
        _knee_text(provenance),
        f"# Full provenance and the fit: {out.with_suffix('.json').name}. docs/calibration.md.",
        f"extends: {relative}",
        "platform:",
        "  tiers:",
    ]
    for tier in scenario.platform.tiers:
        measured = tiers.get(tier.name)
        if tier.kind == "bandwidth":
            lines.append(f"    - {{name: {tier.name}, kind: bandwidth, "
                         f"capacity_gbps: {tier.capacity_gbps:g}}}   # not measured: the scenario's value")
            continue
        servers = measured["servers"] if measured else tier.servers
        service = measured["service"] if measured else tier.service
        service_text = service if isinstance(service, str) else json.dumps(
            service.model_dump() if hasattr(service, "model_dump") else service)
        note = measured["note"] if measured else "not measured: the scenario's value"
        discipline = (measured or {}).get("discipline", tier.discipline)
        commit_ms = (measured or {}).get("commit_ms", tier.commit_ms)
        extra = "" if discipline == "fcfs" else f", discipline: {discipline}"
        extra += f", commit_ms: {commit_ms:.4g}" if discipline == "group-commit" else ""
        batched_by = (measured or {}).get("batched_by", getattr(tier, "batched_by", None))
        extra += f", batched_by: {batched_by}" if batched_by and discipline == "group-commit" else ""
        # an event loop's cost per wake-up (the fit's, with its interval in the note)
        wakeup_ms = (measured or {}).get("wakeup_ms", getattr(tier, "wakeup_ms", 0.0))
        extra += f", wakeup_ms: {wakeup_ms:.4g}" if wakeup_ms else ""
        # the workers' loop, thread pool and session gate (calibrate/threads.py's probe); the routes'
        # own transactions on SQLite's write lock (calibrate.writer.route_holds); the CPU per request
        # against the host's busy cores, where significant (calibrate.cpu_growth); the group commits'
        # CPU, a commit's and a job's (calibrate.commit_cpu)
        for key in ("threads", "route_holds", "cpu_growth", "commit_cpu"):
            value: Any = (measured or {}).get(key, getattr(tier, key, None))
            value = value.model_dump() if isinstance(value, BaseModel) else value
            extra += f", {key}: {json.dumps(value, ensure_ascii=False)}" if value else ""
        lines.append(f"    - {{name: {tier.name}, kind: pool, servers: {servers}, "
                     f"service: {service_text}{extra}}}   # {note}")
    lines.append("  endpoints:")
    for endpoint in scenario.platform.endpoints:
        lines.append(f"    - name: {endpoint.name}")
        lines.append(f"      method: {endpoint.method}")
        lines.append(f"      path: {json.dumps(endpoint.path)}")
        lines.append("      demand_ms:")
        visited = 0
        for tier_name, estimate in endpoint.demand_ms.items():
            fit = demands.get(endpoint.name, {}).get(tier_name)
            visited += not fit or fit.get("visits", True)
            if fit and not fit.get("visits", True):
                # a tier left out is not visited (a demand of 0 would be a visit at no cost)
                why = fit["why"] or f"fitted 0 [{_number(fit['lo'])}, {_number(fit['hi'])}] ms"
                lines.append(f"        # {tier_name}: not visited ({why})")
            elif fit and fit["measured"]:
                lines.append(f"        {tier_name}: {_number(fit['ms'])}   # measured [{_number(fit['lo'])}, "
                             f"{_number(fit['hi'])}] ms, {fit['requests']:,} requests"
                             + (f"; {fit['why']}" if fit.get("why") else ""))
            else:
                why = fit["why"] if fit else "tier not measured"
                lines.append(f"        {tier_name}: {estimate:g}   # not measured ({why}): "
                             "the scenario's estimate")
        if not visited:
            lines.append("        {}")
    return "\n".join(lines) + "\n"


def write(path: Path, text: str, provenance: dict[str, Any], force: bool) -> tuple[Path, Path]:
    check_writable(path, force)
    side = path.with_suffix(".json")
    path.write_text(text, encoding="utf-8")
    side.write_text(json.dumps(provenance, indent=1, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path, side
