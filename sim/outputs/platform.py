"""Write a platform run's results folder (several campaigns on one platform), docs/multi-campaign.md.

- ``timeseries.csv`` on the platform clock (minute 0 = the earliest campaign's start): the
  platform's load (every campaign added up) with the tiers evaluated on it, then each
  campaign's share of the load as ``campaign.<name>.<column>`` (``LOAD_COLUMNS``); the shares
  add up to the totals.
- ``summary.json``: a model summary of the platform (peaks, SLOs, capacity on the total load;
  outcomes added up over the campaigns) with a ``campaigns`` section: each campaign's figures,
  the capacity it would need alone, the study hours it shares with others, its share of the
  shared peak and which campaign sets each tier's need (``sim.campaigns.contributions``).
- ``campaigns/<name>/``: each campaign's own results folder (docs/results.md) on its own
  clock, its tiers evaluated on its load alone; ``yanxiu report`` and ``check`` read it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from records import ModelSummary, build, write_summary
from records.tables import ATTEMPTS, OUTCOMES_DAILY, TIMESERIES
from sim.campaigns import LOAD_COLUMNS, PlatformRun, contributions
from sim.outputs import outcomes, writer
from sim.tiers import sizing

COUNTS = ("teachers", "participants", "new_registrations_needed", "registered_new", "studied",
          "completed_all", "certified", "certificates_fetched", "sessions", "sessions_lost",
          "requests", "errors", "administrators")


def minute_labels(run: PlatformRun) -> list[str]:
    start = run.start_at
    offset = start.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    base = np.datetime64(start.replace(tzinfo=None), "m")
    stamps = base + np.arange(run.minutes).astype("timedelta64[m]")
    return [f"{s}{offset}" for s in np.datetime_as_string(stamps, unit="m")]


def columns(run: PlatformRun) -> dict[str, np.ndarray]:
    """The platform's columns, then every campaign's share of the load."""
    cols = dict(run.series)
    cols.update(run.tiers.columns())
    for part in run.parts:
        for name in LOAD_COLUMNS:
            cols[f"campaign.{part.name}.{name}"] = part.series[name]
    return cols


PER_DAY = ("active", "sessions", "sessions_lost")  # the rest of outcomes_daily.csv is cumulative


def daily(run: PlatformRun) -> dict[str, np.ndarray | list[str]]:
    """outcomes_daily.csv of the platform: each campaign's days placed on the platform's days
    and added up (cumulative columns keep their last value after a campaign's horizon)."""
    first = dt.date.fromisoformat(minute_labels(run)[0][:10])
    parts = []
    for part in run.parts:
        cols = outcomes.daily(part.run)
        parts.append(((dt.date.fromisoformat(cols["day"][0]) - first).days, cols))
    days = max(offset + len(cols["day"]) for offset, cols in parts)
    out: dict[str, np.ndarray | list[str]] = {
        "day": [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]}
    for offset, cols in parts:
        for name, values in cols.items():
            if name == "day":
                continue
            column = out.setdefault(name, np.zeros(days))
            assert isinstance(column, np.ndarray)
            column[offset:offset + len(values)] += values
            if name not in PER_DAY and len(values):
                column[offset + len(values):] += values[-1]
    return out


def write_platform_results(run: PlatformRun, out_dir: Path, scenario_path: str | None = None,
                           replications: dict | None = None) -> ModelSummary:
    """Write the whole folder; return the platform's summary. ``replications``: their
    confidence intervals and seeds (``sim.replications``), on the platform's figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    own: dict[str, ModelSummary] = {}
    for part, file in zip(run.parts, run.plan.files, strict=True):
        path = str(Path(scenario_path).parent / file) if scenario_path else None
        own[part.name] = writer.write_results(part.run, out_dir / "campaigns" / part.name,
                                              scenario_path=path)
    labels = minute_labels(run)
    cols = columns(run)
    head = {"minute": labels, "offset_min": np.arange(len(labels), dtype=np.float64)}
    writer.write_csv(out_dir / "timeseries.csv", {**head, **cols}, spec=TIMESERIES)
    days: dict[str, object] = {**daily(run)}
    writer.write_csv(out_dir / "outcomes_daily.csv", days, outcomes.COMMENT, OUTCOMES_DAILY)
    rows = [row for part in run.parts for row in outcomes.attempts(part.run)]  # course ids differ
    writer.write_csv(out_dir / "attempts.csv", {
        "course": np.array([r[0] for r in rows], float), "attempts": np.array([r[1] for r in rows], float),
        "teachers": np.array([round(r[2]) for r in rows], float)}, spec=ATTEMPTS)
    summary = platform_summary(run, labels, cols, own, scenario_path, replications)
    write_summary(out_dir, summary)
    return summary


def summary_of(run: PlatformRun) -> ModelSummary:
    """The platform's summary without writing anything (a replication's figures)."""
    own = {part.name: writer.summary(part.run, writer.minute_labels(part.run), writer.timeseries(part.run))
           for part in run.parts}
    return platform_summary(run, minute_labels(run), columns(run), own, None)


def platform_summary(run: PlatformRun, labels: list[str], cols: dict[str, np.ndarray],
                     own: dict[str, ModelSummary], scenario_path: str | None,
                     replications: dict | None = None) -> ModelSummary:
    platform = run.platform
    rps = {name: cols[f"rps.{name}"] for name in platform.endpoints}
    sections = sizing.summary_sections(platform, rps, cols["egress_gbps"], run.tiers, labels)
    window = max(p.offset + p.run.profile.window_minutes for p in run.parts)
    outcomes = added_outcomes([s.outcomes for s in own.values()])
    metrics = dict(sections["metrics"])
    for name, values in cols.items():
        if not name.startswith("tier."):
            metrics[f"peak({name})"] = float(np.max(values))
            metrics[f"mean({name})"] = float(np.mean(values[:window]))
    metrics.update({"share(completed)": outcomes["share_completed"],
                    "share(certified)": outcomes["share_certified"],
                    "share(registered)": outcomes["share_registered"],
                    "rate(errors)": outcomes["rate_errors"],
                    "rate(sessions_lost)": outcomes["rate_sessions_lost"]})
    pops = [p.run.population for p in run.parts]
    simulated = sum(p.size for p in pops)
    participants = sum(p.participants for p in pops)
    figures = {
        "scenario": run.plan.name, "scenario_path": scenario_path, "seed": run.seed,
        "seeds": {f"{p.name}.{k}": v for p in run.parts for k, v in p.run.seeds.items()},
        "teachers": sum(p.teachers for p in pops), "participants": participants,
        "simulated": simulated, "weight": participants / simulated if simulated else 0.0,
        "sampled": any(p.sampled for p in pops),
        "window": {"start": labels[0], "minutes": window, "horizon_minutes": len(labels)},
        "peaks": writer.peaks(cols, labels), "slo": sections["slo"], "capacity": sections["capacity"],
        "outcomes": outcomes, "metrics": metrics,
        "model": {"sessions_simulated": sum(s.model.sessions_simulated for s in own.values()),
                  "feedback_calls": int(run.stats["feedback_calls"]),
                  "shards": int(run.stats["shards"])},
        "campaigns": campaigns_section(run, own, labels), "replications": replications,
    }
    return build(ModelSummary, writer._clean(figures))


def added_outcomes(parts: list[dict[str, float]]) -> dict[str, float]:
    """Counts added over the campaigns; shares and rates recomputed from the sums."""
    out = {key: float(sum(p.get(key, 0.0) for p in parts)) for key in COUNTS}
    needing, participants = out["new_registrations_needed"], out["participants"]
    out["share_registered"] = out["registered_new"] / needing if needing else 1.0
    out["share_completed"] = out["completed_all"] / participants if participants else 0.0
    out["share_certified"] = out["certified"] / participants if participants else 0.0
    out["rate_errors"] = out["errors"] / out["requests"] if out["requests"] else 0.0
    out["rate_sessions_lost"] = out["sessions_lost"] / out["sessions"] if out["sessions"] else 0.0
    return out


def campaigns_section(run: PlatformRun, own: dict[str, ModelSummary], labels: list[str]) -> dict:
    shares = contributions(run)
    peak = shares["peak"]
    peak["at"] = labels[peak.pop("minute")]
    for tier in shares["tiers"].values():
        tier["at"] = labels[tier["at"]]
    each = {}
    for part, file in zip(run.parts, run.plan.files, strict=True):
        summary = own[part.name]
        each[part.name] = {
            "file": file, "folder": f"campaigns/{part.name}", "starts": labels[part.offset],
            "participants": summary.participants, "simulated": summary.simulated,
            "peak_rps": float(part.series["rps.total"].max()),
            "peak_sessions": float(part.series["sessions"].max()),
            "peak_egress_gbps": float(part.series["egress_gbps"].max()),
            "share_completed": summary.outcomes["share_completed"],
            "capacity_alone": {tier: c.needed for tier, c in summary.capacity.items()},
            "shared_study_hours": part.routed_hours,
            "in_both": part.in_both,
        }
    return {"each": each, "peak": peak, "tiers": shares["tiers"]}
