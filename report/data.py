"""Read a results folder (docs/results.md) into arrays for the charts.

Model folders: timeseries.csv, outcomes_daily.csv, attempts.csv, summary.json.
Load-test folders: Locust's stats_history.csv, arrivals.csv, summary.json.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from yanxiu.errors import CommandError


@dataclass
class ModelResults:
    folder: Path
    summary: dict
    times: np.ndarray  # datetime64[m], local wall-clock time of each minute
    series: dict[str, np.ndarray]
    days: np.ndarray  # datetime64[D]
    daily: dict[str, np.ndarray]
    attempts: list[dict]
    scenario: object | None  # domain.scenario.Scenario when its file was found
    notes: list[str] = field(default_factory=list)


@dataclass
class LoadtestResults:
    folder: Path
    summary: dict
    history: dict[str, np.ndarray]  # Locust's Aggregated rows; "elapsed_s" added
    arrivals: dict[str, np.ndarray]
    model: dict | None  # the model run's summary.json, when named and present
    notes: list[str] = field(default_factory=list)
    # The model's requests/s for the replayed stretch at test scale (scale x compress), on the
    # test's clock: {"elapsed_s": ..., "rps.<endpoint>": ..., "rps.total": ...}.
    prediction: dict[str, np.ndarray] | None = None


@dataclass
class WorkloadResults:
    """An open-workload queueing experiment (``workload:`` scenario): summary.json and the
    per-replication figures of replications.csv ({tier: {metric: values}}, empty if absent)."""

    folder: Path
    summary: dict
    runs: dict[str, dict[str, np.ndarray]]
    notes: list[str] = field(default_factory=list)


def _lines(path: Path) -> list[str]:
    """A CSV file without its '#' comment lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{path}: missing") from None
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def read_table(path: Path, text_columns: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], dict]:
    """Numeric columns as float arrays (blank or 'N/A' -> NaN) and text columns as lists."""
    lines = _lines(path)
    if not lines:
        raise CommandError(f"{path}: empty")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header, body = rows[0], rows[1:]
    numbers, texts = {}, {}
    for i, name in enumerate(header):
        cells = [row[i] if i < len(row) else "" for row in body]
        if name in text_columns:
            texts[name] = cells
            continue
        try:
            numbers[name] = np.array([float(c) if c not in ("", "N/A") else np.nan for c in cells])
        except ValueError:
            texts[name] = cells
    return numbers, texts


def _read_timeseries(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The minute table; loadtxt keeps a 90-day window (130k rows) to about a second."""
    lines = _lines(path)
    header = next(csv.reader([lines[0]]))
    if "minute" not in header:
        raise CommandError(f"{path}: no 'minute' column")
    body = "\n".join(lines[1:])
    first = header.index("minute")
    numeric = [i for i in range(len(header)) if i != first]
    try:
        values = np.loadtxt(io.StringIO(body), delimiter=",", usecols=numeric, ndmin=2)
    except ValueError:
        values = np.genfromtxt(io.StringIO(body), delimiter=",", usecols=numeric, ndmin=2)
    minutes = np.loadtxt(io.StringIO(body), delimiter=",", usecols=[first], dtype=str, ndmin=1)
    # Local wall-clock time: drop any UTC offset, keep 'YYYY-MM-DDTHH:MM'.
    times = np.array([m.strip()[:16] for m in minutes], dtype="datetime64[m]")
    return times, {header[i]: values[:, k] for k, i in enumerate(numeric)}


def _summary(folder: Path) -> dict:
    from gate.evaluate import GateError
    from gate.results import load_summary

    try:
        # the page needs no metrics map: workload results written before it existed still draw
        return load_summary(folder, require_metrics=False)
    except GateError as exc:
        raise CommandError(str(exc)) from None


def _scenario(summary: dict, folder: Path, notes: list[str]):
    from domain.platform import PlatformScenario, load_any
    from gate.evaluate import GateError
    from gate.results import scenario_path

    try:
        scenario = load_any(scenario_path(summary, folder))
        if isinstance(scenario, PlatformScenario):  # several campaigns: the platform is theirs
            last = max(scenario.campaigns, key=lambda s: s.calendar.end_at)
            notes.append(f"platform run: calendar markers of {last.name}, the campaign that ends last")
            return last
        return scenario
    except GateError as exc:
        notes.append(f"no calendar markers: {exc}")
        return None


def load_model(folder: Path, summary: dict) -> ModelResults:
    times, series = _read_timeseries(folder / "timeseries.csv")
    daily, day_texts = read_table(folder / "outcomes_daily.csv", text_columns=("day",))
    days = np.array([d.strip()[:10] for d in day_texts.get("day", [])], dtype="datetime64[D]")
    table, texts = read_table(folder / "attempts.csv", text_columns=("course",))
    attempts = [{"course": c, "attempts": int(a), "teachers": float(t)} for c, a, t in
                zip(texts.get("course", []), table.get("attempts", []), table.get("teachers", []),
                    strict=False)]
    notes: list[str] = []
    return ModelResults(folder, summary, times, series, days, daily, attempts,
                        _scenario(summary, folder, notes), notes)


def _model_summary(summary: dict, notes: list[str]) -> dict | None:
    path = summary.get("model_results")
    if not path:
        return None
    file = Path(path) / "summary.json"
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        notes.append(f"model results {path} not readable ({exc}); no prediction shown")
        return None


def load_loadtest(folder: Path, summary: dict) -> LoadtestResults:
    history, texts = read_table(_history_file(folder), text_columns=("Type", "Name"))
    names = texts.get("Name", [])
    keep = np.array([n == "Aggregated" for n in names], dtype=bool)
    history = {k: v[keep] for k, v in history.items()}
    stamps = history.get("Timestamp", np.zeros(0))
    history["elapsed_s"] = stamps - (stamps[0] if len(stamps) else 0.0)
    notes: list[str] = []
    try:
        arrivals, _ = read_table(folder / "arrivals.csv")
    except CommandError as exc:
        arrivals = {}
        notes.append(str(exc))
    model = _model_summary(summary, notes)
    prediction = _prediction(summary, notes) if model else None
    return LoadtestResults(folder, summary, history, arrivals, model, notes, prediction)


def _history_file(folder: Path) -> Path:
    """Locust's history: ``stats_history.csv`` in a ``yanxiu loadtest`` folder, or
    ``locust_stats_history.csv`` where plain Locust wrote it (``--csv <folder>/locust``)."""
    ours, plain = folder / "stats_history.csv", folder / "locust_stats_history.csv"
    return plain if plain.is_file() and not ours.is_file() else ours


def _prediction(summary: dict, notes: list[str]) -> dict[str, np.ndarray] | None:
    """The replayed stretch of the model's time series, at the test's rate and clock
    (loadtests.plan: each model minute lasts 60/compress s and carries scale x the arrivals)."""
    first, compress, scale = (summary.get(k) for k in ("stretch_first_minute", "compress", "scale"))
    duration = summary.get("duration_s")
    if not (isinstance(first, str) and all(isinstance(v, int | float) and v > 0
                                            for v in (compress, scale, duration))):
        notes.append("summary.json lacks stretch_first_minute/compress/scale/duration_s: no prediction drawn")
        return None
    try:
        times, series = _read_timeseries(Path(summary["model_results"]) / "timeseries.csv")
    except CommandError as exc:
        notes.append(f"no model prediction: {exc}")
        return None
    start = np.datetime64(first.strip()[:16], "m")
    minutes = int(np.ceil(duration * compress / 60.0))
    keep = (times >= start) & (times < start + np.timedelta64(minutes, "m"))
    if not keep.any():
        notes.append(f"the model's time series does not cover the stretch from {first}")
        return None
    out = {k: v[keep] * scale * compress for k, v in series.items() if k.startswith("rps.")}
    out["elapsed_s"] = (times[keep] - start).astype(float) * 60.0 / compress
    return out


def load_workload(folder: Path, summary: dict) -> WorkloadResults:
    if not isinstance(summary.get("tiers"), dict) or not summary["tiers"]:
        raise CommandError(f"{folder / 'summary.json'}: tiers: missing or empty")
    notes: list[str] = []
    runs: dict[str, dict[str, np.ndarray]] = {}
    try:
        table, texts = read_table(folder / "replications.csv", text_columns=("tier",))
    except CommandError as exc:
        notes.append(f"{exc}: no per-replication chart")
        return WorkloadResults(folder, summary, runs, notes)
    tiers = np.array(texts.get("tier", []))
    for tier in summary["tiers"]:
        rows = tiers == tier
        runs[tier] = {name: values[rows] for name, values in table.items()}
    return WorkloadResults(folder, summary, runs, notes)


LOADERS = {"model": load_model, "loadtest": load_loadtest, "workload": load_workload}


def load(folder: str | Path) -> ModelResults | LoadtestResults | WorkloadResults:
    """A results folder of any kind; bad or missing files raise CommandError (exit 2)."""
    folder = Path(folder)
    summary = _summary(folder)
    kind = summary.get("kind")
    if kind not in LOADERS:
        raise CommandError(f"{folder / 'summary.json'}: kind: expected one of {', '.join(LOADERS)} "
                           f"(got {kind!r})")
    return LOADERS[kind](folder, summary)


def warn(message: str) -> None:
    print(f"yanxiu report: warning: {message}", file=sys.stderr)
