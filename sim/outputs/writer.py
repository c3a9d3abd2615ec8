"""Write a model run's results folder exactly as docs/results.md describes it.

``timeseries.csv``, ``outcomes_daily.csv``, ``attempts.csv`` (column sets in
``records.tables``) and ``summary.json`` (``records.ModelSummary``, built once with the
replications and the confirmation, written once); the charts are the report's
(``report.pngs``, which ``yanxiu run`` asks for after this folder is written).
Columnar CSV written with NumPy (pandas is not a dependency). Numbers are printed with 9
significant digits, so the same seed gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from records import ModelSummary, build, write_summary
from records.tables import ATTEMPTS, OUTCOMES_DAILY, TIMESERIES, Columns
from sim.outputs import outcomes
from sim.outputs.cascade import cascade, room_queue
from sim.tiers import sizing

FMT = "%.9g"


def minute_labels(run) -> list[str]:
    """Local ISO time of each minute (the zone's offset at the window start)."""
    start = run.campaign.start_at
    offset = start.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    base = np.datetime64(start.replace(tzinfo=None), "m")
    stamps = base + np.arange(run.recorder.minutes).astype("timedelta64[m]")
    return [f"{s}{offset}" for s in np.datetime_as_string(stamps, unit="m")]


def timeseries(run) -> dict[str, np.ndarray]:
    cols = run.recorder.series()
    if run.scenario.failures.waiting_room is not None:  # only with one: other runs keep their columns
        cols["waiting_room"] = room_queue(run.recorder.room, run.recorder.minutes)
    cols.update(run.tiers.columns())
    return cols


def write_csv(path: Path, columns: Mapping[str, Any], comment: str | None = None,
              spec: Columns | None = None) -> None:
    names = list(columns)
    if spec is not None:
        spec.check(names, path)
    text_cols = [n for n in names if not isinstance(columns[n], np.ndarray)]
    numeric = [n for n in names if n not in text_cols]
    buf = io.StringIO()
    if numeric:
        matrix = np.column_stack([np.asarray(columns[n], dtype=np.float64) for n in numeric])
        np.savetxt(buf, matrix, fmt=FMT, delimiter=",")
    body = buf.getvalue().splitlines()
    rows = len(columns[names[0]]) if names else 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        if comment:
            out.write(comment + "\n")
        out.write(",".join(text_cols + numeric) + "\n")
        for i in range(rows):
            prefix = ",".join(str(columns[n][i]) for n in text_cols)
            line = body[i] if numeric else ""
            out.write(f"{prefix},{line}\n" if prefix and line else f"{prefix}{line}\n")


def peaks(columns: dict[str, np.ndarray], labels: list[str]) -> dict[str, dict]:
    out = {}
    for name, values in columns.items():
        if not isinstance(values, np.ndarray) or values.size == 0:
            continue
        finite = np.where(np.isfinite(values), values, -np.inf)
        i = int(np.argmax(finite))
        value = float(values[i])
        out[name] = {"value": value if math.isfinite(value) else None, "at": labels[i]}
    return out


def summary(run, labels: list[str], series: dict[str, np.ndarray],
            scenario_path: str | None = None, replications: dict | None = None,
            confirmation: dict | None = None) -> ModelSummary:
    """The run's summary record; ``replications`` (``sim.replications.confidence`` with the
    seeds) and ``confirmation`` (``confirmation`` below) when they were computed."""
    platform = run.platform
    rps = {name: series[f"rps.{name}"] for name in platform.endpoints}
    sections = sizing.summary_sections(platform, rps, series["egress_gbps"], run.tiers, labels)
    totals = outcomes.totals(run)
    window = run.profile.window_minutes
    metrics = dict(sections["metrics"])
    for name, values in series.items():
        if name.startswith("tier."):
            continue
        metrics[f"peak({name})"] = float(np.max(values))
        metrics[f"mean({name})"] = float(np.mean(values[:window]))
    metrics.update({
        "share(certified)": totals["share_certified"], "share(completed)": totals["share_completed"],
        "share(registered)": totals["share_registered"], "rate(errors)": totals["rate_errors"],
        "rate(sessions_lost)": totals["rate_sessions_lost"],
    })
    pop = run.population
    figures = {
        "scenario": run.scenario.name, "scenario_path": scenario_path,
        "seed": run.seed, "seeds": run.seeds,
        "teachers": pop.teachers, "participants": pop.participants, "simulated": pop.size,
        "weight": float(pop.weight.mean()), "sampled": pop.sampled,
        "window": {"start": labels[0], "minutes": window, "horizon_minutes": len(labels)},
        "peaks": peaks(series, labels), "slo": sections["slo"], "capacity": sections["capacity"],
        "outcomes": totals, "replications": replications, "metrics": metrics,
        # counts only: timings would break byte-for-byte reproducibility
        "model": {"sessions_simulated": run.stats["sessions_simulated"],
                  "feedback_calls": run.stats["feedback_calls"], "shards": run.shards},
    }
    if confirmation is not None:
        figures["confirmation"] = confirmation
    overload = cascade(run, labels)
    if overload is not None:
        figures["cascade"] = overload
    return build(ModelSummary, _clean(figures))


def _clean(value):
    """JSON has no inf/nan: write them as null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


# Request-level confirmation (docs/tiers.md): requests per replication at the peak minute and
# at each other tier's busiest minute; quiet minutes are held at their rates for up to
# CONFIRM_MAX_S so that even a laptop-sized run has enough requests for a p99. About 40,000
# requests/s through two tiers here, so the whole confirmation stays within ~6 s.
CONFIRM_REQUESTS = 30_000
CONFIRM_OTHER_REQUESTS = 10_000
CONFIRM_REPLICATIONS = 4
CONFIRM_MAX_S = 3600.0


def confirm_minutes(run, series: dict[str, np.ndarray]) -> list[tuple[int, list[str]]]:
    """(minute, why) to confirm: the peak of ``rps.total`` first, then each pool tier's peak
    utilisation when it falls in another minute."""
    chosen: dict[int, list[str]] = {}
    names = ["rps.total"] + [f"tier.{t.name}.utilisation" for t in run.platform.tiers
                             if t.kind == "pool"]
    for name in names:
        values = np.nan_to_num(series[name], nan=-np.inf)
        if values.size and values.max() > 0:
            chosen.setdefault(int(np.argmax(values)), []).append(f"peak({name})")
    return list(chosen.items())


def confirmation(run, series: dict[str, np.ndarray], labels: list[str],
                 replications: int = CONFIRM_REPLICATIONS) -> dict:
    """The ``confirmation`` section of summary.json: ``sim.tiers.experiments.confirm_minute`` on the
    chosen minutes' full-scale rates, seeded from the run's seed and the minute."""
    from sim.tiers.experiments import confirm_minute

    out = []
    for i, (minute, why) in enumerate(confirm_minutes(run, series)):
        rps = {name: float(series[f"rps.{name}"][minute]) for name in run.platform.endpoints}
        rps = {name: rate for name, rate in rps.items() if rate > 0}
        budget = CONFIRM_REQUESTS if i == 0 else CONFIRM_OTHER_REQUESTS
        seed = int(np.random.SeedSequence([run.seed, 0xC0F1, minute]).generate_state(1)[0])
        figures = confirm_minute(run.scenario, rps, seconds=CONFIRM_MAX_S,
                                 replications=replications, seed=seed, max_requests=budget,
                                 workers=1)
        out.append({"minute": minute, "at": labels[minute], "why": why, "seed": seed,
                    "rps_total": float(sum(rps.values())),
                    "backlog_carried": _backlog_before(run, minute), **figures})
    return {"minutes": out}


def _backlog_before(run, minute: int) -> bool:
    """Whether a pool tier carried a backlog into the minute (the time series' figures then
    include it; the confirmation, like the analytic figures beside it, starts empty)."""
    if minute == 0:
        return False
    return any(float(run.tiers[t.name].backlog_s[minute - 1]) > 0
               for t in run.platform.tiers if t.kind == "pool")


def write_results(run, out_dir: Path, scenario_path: str | None = None,
                  replications: dict | None = None, confirm: bool = False) -> ModelSummary:
    """Write the whole folder; return the summary. ``scenario_path``: the scenario file as the
    user gave it (``yanxiu report`` and ``check`` find the scenario through it);
    ``replications``: their confidence intervals and seeds; ``confirm``: run the request-level
    confirmation of the busiest minutes into the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = minute_labels(run)
    series = timeseries(run)
    head = {"minute": labels, "offset_min": np.arange(len(labels), dtype=np.float64)}
    write_csv(out_dir / "timeseries.csv", {**head, **series}, spec=TIMESERIES)
    write_csv(out_dir / "outcomes_daily.csv", outcomes.daily(run), outcomes.COMMENT, OUTCOMES_DAILY)
    rows = outcomes.attempts(run)
    write_csv(out_dir / "attempts.csv", {
        "course": np.array([r[0] for r in rows], float),
        "attempts": np.array([r[1] for r in rows], float),
        "teachers": np.array([round(r[2]) for r in rows], float)}, spec=ATTEMPTS)
    section = confirmation(run, series, labels) if confirm else None
    result = summary(run, labels, series, scenario_path, replications, section)
    write_summary(out_dir, result)
    return result
