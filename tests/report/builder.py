"""Synthetic results folders exactly as docs/results.md specifies, for report and gate tests.

The shapes are plausible (daily profile, course openings, deadline rush, queueing latency that
climbs with utilisation) and every summary figure is computed from the files written, so a
test that reads the files and one that reads summary.json see the same campaign.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

import records
from domain.scenario import Scenario, load_scenario
from tests.conftest import SMOKE

PERCENTILE_STRETCH = {"p50": 0.7, "p95": 3.0, "p99": 4.6}  # exponential-ish response times


def _activity(s: Scenario, minutes: int) -> tuple[list[dt.datetime], np.ndarray]:
    start = s.calendar.start_at
    times = [start + dt.timedelta(minutes=i) for i in range(minutes)]
    beh = s.behaviour
    daily = np.array(beh.daily_profile) / np.mean(beh.daily_profile)
    weekly = np.array(beh.weekly_profile) / np.mean(beh.weekly_profile)
    hours = np.array([t.hour for t in times])
    weekdays = np.array([t.weekday() for t in times])
    days = np.array([(t - start).total_seconds() / 86400 for t in times])
    shape = daily[hours] * weekly[weekdays]
    for course in s.courses:
        since = days - (dt.datetime.combine(course.opens, dt.time(), start.tzinfo) - start).days
        boost = (beh.opening_boost - 1) * np.exp(-since / beh.opening_decay_days)
        shape *= 1 + np.where(since >= 0, boost, 0)
    to_end = days[-1] - days
    shape *= np.where(to_end < beh.deadline_rush.days, beh.deadline_rush.factor, 1.0)
    return times, shape


def _tier_columns(s: Scenario, rps: dict[str, np.ndarray], egress: np.ndarray, load: float) -> dict:
    cols = {}
    for tier in s.platform.tiers:
        if tier.kind == "bandwidth":
            util = egress / tier.capacity_gbps
            wait = np.zeros_like(util)
            base = np.full_like(util, 20.0)
        else:
            busy_ms = sum(rps[e.name] * e.demand_ms.get(tier.name, 0.0) for e in s.platform.endpoints)
            util = np.minimum(busy_ms / 1000.0 / tier.servers, 0.99)
            wait = 5.0 * util**4 / (1 - util) * load
            demands = [e.demand_ms[tier.name] for e in s.platform.endpoints if tier.name in e.demand_ms]
            base = np.full_like(util, float(np.mean(demands)))
        cols[f"tier.{tier.name}.utilisation"] = util
        cols[f"tier.{tier.name}.wait_ms"] = wait
        for p, stretch in PERCENTILE_STRETCH.items():
            cols[f"tier.{tier.name}.{p}_ms"] = base * stretch * load + wait * stretch
    return cols


def timeseries(s: Scenario, load: float = 1.0) -> tuple[list[dt.datetime], dict[str, np.ndarray]]:
    minutes = int(s.calendar.window_seconds // 60)
    times, shape = _activity(s, minutes)
    sessions = 0.02 * s.population.participants * shape * load
    viewers = 0.8 * sessions
    share = {"sms_send": 0.002, "school_search": 0.003, "register": 0.001, "login": 0.004,
             "campaign_page": 0.01, "test_fetch": 0.002, "test_submit": 0.002, "certificate": 0.0005,
             "admin_progress": 0.0003}
    rps = {e.name: sessions * share.get(e.name, 0.001) for e in s.platform.endpoints}
    rps["heartbeat"] = viewers / 600.0
    cols: dict[str, np.ndarray] = {"offset_min": np.arange(minutes, dtype=float)}
    cols.update({f"rps.{name}": values for name, values in rps.items()})
    cols["rps.total"] = sum(rps.values())
    egress = viewers * 1.4e-3 * 1e-3 * 40  # a busy laptop campaign: 40x to make bandwidth visible
    cols.update(sessions=sessions, viewers=viewers, egress_gbps=egress, sms_per_s=rps["sms_send"],
                **{"arrivals.sessions": sessions / 38.0, "arrivals.registrations": rps["register"] * 60})
    cols.update(_tier_columns(s, rps, egress, load))
    return times, cols


def outcomes(s: Scenario, certified_share: float) -> tuple[list[dict], list[dict]]:
    days = int(s.calendar.window_seconds // 86400)
    n = s.population.participants
    x = np.arange(1, days + 1) / days
    registered = np.round(n * 0.5 * (1 + np.tanh(6 * (x - 0.2))) / np.tanh(6 * 0.8 + 0.1))
    registered = np.minimum(registered, n)
    daily = []
    for i in range(days):
        row = {"day": (s.calendar.start.date() + dt.timedelta(days=i)).isoformat(),
               "registered": int(registered[i]), "active": int(registered[i] * 0.4),
               "sessions": int(registered[i] * 0.6), "sessions_lost": int(registered[i] * 0.002)}
        for c in s.courses:
            row[f"credit_hours.{c.id}"] = round(float(registered[i] * c.credit.hours * x[i]), 1)
            row[f"completed.{c.id}"] = int(registered[i] * x[i] ** 1.5 * 0.97)
        row["completed_all"] = int(registered[i] * x[i] ** 2 * certified_share / max(x[-1] ** 2, 1e-9))
        row["certified"] = row["completed_all"]
        daily.append(row)
    attempts = []
    for c in s.courses:
        left = float(n)
        for k, p in enumerate(c.test.full_marks_probability + [1.0], start=1):
            attempts.append({"course": c.id, "attempts": k, "teachers": int(left * p)})
            left -= left * p
    return daily, attempts


def _write_csv(path: Path, rows: list[dict], header: str | None = None) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        if header:
            f.write(f"# {header}\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _peak(times: list[dt.datetime], values: np.ndarray) -> dict:
    i = int(np.argmax(values))
    return {"value": float(values[i]), "at": times[i].isoformat()}


def _summary(s: Scenario, times, cols: dict, daily: list[dict], scenario_ref: str, seed: int) -> dict:
    slos, capacity = {}, {}
    for tier in s.platform.tiers:
        slo = s.service_levels.tiers.get(tier.name)
        p95 = cols[f"tier.{tier.name}.p95_ms"]
        util = cols[f"tier.{tier.name}.utilisation"]
        if slo and slo.p95_ms:
            judged = np.sum(cols["rps.total"] >= 1.0)  # sim.tiers.sizing.JUDGED_RPS, roughly
            ok = p95 <= slo.p95_ms
            util_ok = bool(np.max(util) <= slo.max_utilisation)
            slos[tier.name] = {"p95_ms": float(np.percentile(p95, 95)), "target_p95_ms": slo.p95_ms,
                               "worst_minute_p95_ms": float(np.max(p95)),
                               "targets_ms": {"p95_ms": slo.p95_ms},
                               "max_utilisation": float(np.max(util)),
                               "target_max_utilisation": slo.max_utilisation,
                               "compliant_minutes_share": float(np.mean(ok)),
                               "judged_minutes": int(judged), "compliant": bool(ok.all()) and util_ok}
        cap = slo.max_utilisation if slo else 0.8
        provided = tier.servers if tier.kind == "pool" else tier.capacity_gbps
        needed = float(np.max(util) * provided / cap)
        capacity[tier.name] = {"needed": round(needed, 2), "minimum": round(needed * cap, 2),
                               "provided": provided,
                               "unit": "servers" if tier.kind == "pool" else "Gbps",
                               "margin": round(provided / needed - 1, 3) if needed else None,
                               "at": _peak(times, util)["at"]}
    n = s.population.participants
    last = daily[-1]
    metrics = {f"{p}(latency.{t.name})": float(np.percentile(cols[f"tier.{t.name}.{p}_ms"], 95))
               for t in s.platform.tiers if t.kind == "pool" for p in PERCENTILE_STRETCH}
    metrics.update({f"peak({c})": float(np.max(cols[c])) for c in ("rps.total", "sms_per_s", "viewers",
                                                                    "sessions", "egress_gbps")})
    metrics.update({f"max(utilisation.{t.name})": float(np.max(cols[f"tier.{t.name}.utilisation"]))
                    for t in s.platform.tiers})
    metrics.update({"share(certified)": last["certified"] / n, "share(registered)": last["registered"] / n,
                    "share(completed)": last["completed_all"] / n, "rate(errors)": 0.0004,
                    "rate(sessions_lost)": 0.002, "mean(rps.total)": float(np.mean(cols["rps.total"]))})
    return {"kind": "model", "scenario": scenario_ref, "seed": seed, "seeds": {"population": seed},
            "teachers": s.population.teachers, "participants": n, "simulated": n, "weight": 1.0,
            "sampled": False,
            "window": {"start": times[0].isoformat(), "minutes": len(times), "horizon_minutes": len(times)},
            "peaks": {c: _peak(times, cols[c]) for c in ("rps.total", "sessions", "viewers",
                                                        "egress_gbps", "sms_per_s")},
            "slo": slos, "capacity": capacity,
            "outcomes": {"participants": n, "registered": last["registered"],
                         "completed_all": last["completed_all"], "certified": last["certified"],
                         "share_registered": last["registered"] / n,
                         "share_completed": last["completed_all"] / n,
                         "share_certified": last["certified"] / n,
                         "rate_errors": 0.0004, "rate_sessions_lost": 0.002},
            "replications": None, "metrics": metrics,
            "model": {"sessions_simulated": float(n), "feedback_calls": 0, "shards": 1}}


def write_model_results(folder: Path, scenario: Path = SMOKE, load: float = 1.0,
                        certified_share: float = 0.93, seed: int = 7, metrics: dict | None = None,
                        noise: float | None = None) -> Path:
    """A model results folder; ``load`` scales requests and latency (a regression), ``metrics``
    overrides entries of summary.json["metrics"]; ``noise`` adds replications (5) whose 95%
    intervals are ± that fraction of each metric, and moves each metric by a seed-dependent
    fraction within it (what a change of seed does)."""
    s = load_scenario(scenario)
    folder.mkdir(parents=True, exist_ok=True)
    times, cols = timeseries(s, load)
    header = ["minute", *cols]
    buffer = io.StringIO()
    np.savetxt(buffer, np.column_stack(list(cols.values())), fmt="%.6g", delimiter=",")
    stamps = np.datetime_as_string(np.datetime64(times[0].replace(tzinfo=None), "m")
                                   + np.arange(len(times)).astype("timedelta64[m]"))
    offset = times[0].strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"  # local time with its UTC offset, as `yanxiu run` writes
    lines = buffer.getvalue().splitlines()
    rows = (f"{stamp}{offset},{line}" for stamp, line in zip(stamps, lines, strict=True))
    (folder / "timeseries.csv").write_text(",".join(header) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    daily, attempts = outcomes(s, certified_share)
    _write_csv(folder / "outcomes_daily.csv", daily,
               "registered, completed.*, completed_all, certified: cumulative")
    _write_csv(folder / "attempts.csv", attempts)
    summary = _summary(s, times, cols, daily, str(scenario), seed)
    summary["scenario"], summary["scenario_path"] = s.name, str(scenario)
    summary["metrics"].update(metrics or {})
    if noise is not None:
        _add_replications(summary, noise, seed)
    records.write_summary(folder, records.build(records.ModelSummary, summary))
    return folder


def _add_replications(summary: dict, noise: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ci95 = {}
    for key, value in summary["metrics"].items():
        mean = value * (1 + noise * rng.uniform(-0.5, 0.5))  # this seed's replication mean
        summary["metrics"][key] = mean
        ci95[key] = [mean - abs(value) * noise, mean + abs(value) * noise]
    summary["replications"] = {"count": 5, "ci95": ci95, "seeds": [seed + i for i in range(5)]}


LOCUST_COLUMNS = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "66%", "75%",
                  "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%", "Total Request Count",
                  "Total Failure Count", "Total Median Response Time", "Total Average Response Time",
                  "Total Min Response Time", "Total Max Response Time", "Total Average Content Size"]


def write_loadtest_results(folder: Path, model: Path | None, seconds: int = 300, seed: int = 3,
                           metrics: dict | None = None) -> Path:
    """A load-test results folder as `yanxiu loadtest` writes it, Locust CSVs included."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = 1_700_000_000
    ramp = np.minimum(np.arange(0, seconds, 5) / 60.0, 1.0)
    rows, total, fails = [], 0, 0
    for i, r in enumerate(ramp):
        rps = 80 * r + rng.normal(0, 2) if r > 0 else 0.0
        fail = max(0.0, rng.normal(0.2, 0.1)) if r > 0 else 0.0
        total += int(rps * 5)
        fails += int(fail * 5)
        p50 = 12 + 10 * r
        pct = [p50, p50 * 1.2, p50 * 1.4, p50 * 1.5, p50 * 2, p50 * 2.6, p50 * 3.4, p50 * 4, p50 * 6, p50 * 7,
               p50 * 8]
        cells = [f"{v:.0f}" for v in pct] if r > 0 else ["N/A"] * len(pct)
        rows.append([t0 + 5 * i, int(200 * r), "", "Aggregated", f"{max(rps, 0):2f}", f"{fail:2f}", *cells,
                     total, fails, f"{p50:.0f}", f"{p50 * 1.3:.2f}", 3, 900, 512])
    with (folder / "stats_history.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(LOCUST_COLUMNS)
        writer.writerows(rows)
    bins = []
    for b in range(30):
        planned = 50 + 40 * np.sin(b / 5)
        achieved = int(planned * rng.uniform(0.95, 1.03))
        bins.append({"bin": b, "planned": round(planned, 2), "achieved": achieved})
    _write_csv(folder / "arrivals.csv", bins)
    # What the model predicts for the replayed stretch at test scale, measured a little lower.
    first, compress, scale = dt.datetime(2023, 1, 12, 20, 0), 24.0, 2.0
    times, cols = timeseries(load_scenario(SMOKE))
    start = times[0].replace(tzinfo=None)
    lo = int((first - start).total_seconds() // 60)
    stretch = slice(lo, lo + int(seconds * compress / 60))
    endpoints = {}
    for name, p50 in (("login", 60.0), ("heartbeat", 8.0), ("campaign_page", 14.0)):
        rps = float(np.mean(cols[f"rps.{name}"][stretch])) * scale * compress * 0.97
        requests = int(rps * seconds)
        endpoints[name] = {"requests": requests, "failures": int(requests * 0.002), "rps": round(rps, 3),
                           "error_rate": 0.002, "p50_ms": p50, "p95_ms": p50 * 2.6, "p99_ms": p50 * 4}
    metrics_map = {f"{p}(latency.{name})": e[f"{p}_ms"] for name, e in endpoints.items()
                   for p in ("p50", "p95", "p99")}
    metrics_map.update({"p50(latency.all)": 22.0, "p95(latency.all)": 57.0, "p99(latency.all)": 88.0,
                        "rate(errors)": fails / max(total, 1), "max(arrivals.bin_error)": 0.05,
                        "max(generator.cpu)": 0.55,
                        "mean(rps.total)": sum(e["rps"] for e in endpoints.values())})
    summary = {"kind": "loadtest", "scenario": "smoke", "scenario_path": str(SMOKE),
               "model_results": str(model) if model else None,
               "stretch": "2023-01-12 20:00 +2h", "stretch_first_minute": f"{first.isoformat()}+08:00",
               "compress": compress, "scale": scale, "host": "http://127.0.0.1:8000", "duration_s": seconds,
               "arrival_process": "deterministic", "endpoints": endpoints,
               "total": {"requests": sum(e["requests"] for e in endpoints.values()),
                         "failures": sum(e["failures"] for e in endpoints.values()),
                         "rps": sum(e["rps"] for e in endpoints.values()), "error_rate": 0.002,
                         "p50_ms": 22.0, "p95_ms": 57.0, "p99_ms": 88.0},
               "arrivals": {"planned": 1500.0, "achieved": 1497, "dropped": 0, "bin_s": 10.0,
                            "max_bin_error": 0.05, "within_10pct": True},
               "generator_cpu": {"max": 55.0, "mean": 30.0, "saturated": False}, "trustworthy": True,
               "metrics": metrics_map}
    summary["metrics"].update(metrics or {})
    records.write_summary(folder, records.build(records.LoadtestSummary, summary))
    return folder
