"""Read a results folder (docs/results.md) into arrays for the charts.

summary.json comes through its record (``records``: one kind, this schema version), the CSV
files are checked against their column sets (``records.tables``).
Model folders: timeseries.csv, outcomes_daily.csv, attempts.csv, summary.json.
Load-test folders: Locust's stats_history.csv, arrivals.csv, summary.json; a bench validation
level's also level.json (the calibrated model's comparison, ``records.level``).
Workload folders: replications.csv, summary.json.
Bad or missing files raise ``ReportError`` (a CSV) or ``records.RecordsError`` (summary.json).
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from domain.scenario import Scenario
from records import (
    LoadtestSummary,
    ModelSummary,
    RecordsError,
    WorkloadSummary,
    read_summary,
    scenario_file,
    tables,
)
from records.level import LevelView, read_level
from records.prediction import Prediction
from records.tables import Columns
from report.errors import ReportError


@dataclass
class ModelResults:
    folder: Path
    summary: ModelSummary
    times: np.ndarray  # datetime64[m], local wall-clock time of each minute
    series: dict[str, np.ndarray]
    days: np.ndarray  # datetime64[D]
    daily: dict[str, np.ndarray]
    attempts: list[dict]
    scenario: Scenario | None  # when its file was found
    notes: list[str] = field(default_factory=list)


@dataclass
class LoadtestResults:
    folder: Path
    summary: LoadtestSummary
    history: dict[str, np.ndarray]  # Locust's Aggregated rows; "elapsed_s" added
    arrivals: dict[str, np.ndarray]
    model: ModelSummary | None  # the model run's summary, when named and readable
    notes: list[str] = field(default_factory=list)
    # The model's requests/s for the replayed stretch at test scale (scale x compress), on the
    # test's clock: {"elapsed_s": ..., "rps.<endpoint>": ..., "rps.total": ...}.
    prediction: dict[str, np.ndarray] | None = None
    # a bench validation level's folder (bench/bench_calibrate.py): its level.json, which holds the
    # calibrated model's comparison when summary.json has none (records.level)
    level: LevelView | None = None

    @property
    def comparison(self) -> Prediction | None:
        """The calibrated model's prediction beside the measurement: summary.json's, else the level's."""
        if self.summary.prediction is not None:
            return self.summary.prediction
        return self.level.comparison if self.level is not None else None


@dataclass
class WorkloadResults:
    """An open-workload queueing experiment (``workload:`` scenario): summary.json and the
    per-replication figures of replications.csv ({tier: {metric: values}}, empty if absent)."""

    folder: Path
    summary: WorkloadSummary
    runs: dict[str, dict[str, np.ndarray]]
    notes: list[str] = field(default_factory=list)


def _lines(path: Path) -> list[str]:
    """A CSV file without its '#' comment lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: missing") from None
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def read_table(path: Path, text_columns: tuple[str, ...] = (), spec: Columns | None = None
               ) -> tuple[dict[str, np.ndarray], dict]:
    """Numeric columns as float arrays (blank or 'N/A' -> NaN) and text columns as lists."""
    lines = _lines(path)
    if not lines:
        raise ReportError(f"{path}: empty")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header, body = rows[0], rows[1:]
    if spec is not None:
        _check(spec, header, path)
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
    _check(tables.TIMESERIES, header, path)
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


def _check(spec: Columns, header: list[str], path: Path) -> None:
    try:
        spec.check(header, path)
    except RecordsError as exc:
        raise ReportError(str(exc)) from None


def _scenario(summary: ModelSummary, folder: Path, notes: list[str]) -> Scenario | None:
    from domain.platform import PlatformScenario, load_any
    from domain.scenario import ScenarioError

    try:
        scenario = load_any(scenario_file(summary, folder))
    except (RecordsError, ScenarioError) as exc:
        notes.append(f"no calendar markers: {exc}")
        return None
    if isinstance(scenario, PlatformScenario):  # several campaigns: the platform is theirs
        last = max(scenario.campaigns, key=lambda s: s.calendar.end_at)
        notes.append(f"platform run: calendar markers of {last.name}, the campaign that ends last")
        return last
    return scenario


def load_model(folder: Path, summary: ModelSummary) -> ModelResults:
    times, series = _read_timeseries(folder / "timeseries.csv")
    daily, day_texts = read_table(folder / "outcomes_daily.csv", text_columns=("day",),
                                  spec=tables.OUTCOMES_DAILY)
    days = np.array([d.strip()[:10] for d in day_texts.get("day", [])], dtype="datetime64[D]")
    table, texts = read_table(folder / "attempts.csv", text_columns=("course",), spec=tables.ATTEMPTS)
    attempts = [{"course": c, "attempts": int(a), "teachers": float(t)} for c, a, t in
                zip(texts.get("course", []), table.get("attempts", []), table.get("teachers", []),
                    strict=False)]
    notes: list[str] = []
    return ModelResults(folder, summary, times, series, days, daily, attempts,
                        _scenario(summary, folder, notes), notes)


def _model_summary(summary: LoadtestSummary, notes: list[str]) -> ModelSummary | None:
    if not summary.model_results:
        return None
    try:
        return read_summary(summary.model_results, ModelSummary)
    except RecordsError as exc:
        notes.append(f"model results {summary.model_results} not usable ({exc}); no prediction shown")
        return None


def load_loadtest(folder: Path, summary: LoadtestSummary) -> LoadtestResults:
    history, texts = read_table(_history_file(folder), text_columns=("Type", "Name"),
                                spec=tables.LOCUST_HISTORY)
    names = texts.get("Name", [])
    keep = np.array([n == "Aggregated" for n in names], dtype=bool)
    history = {k: v[keep] for k, v in history.items()}
    stamps = history.get("Timestamp", np.zeros(0))
    history["elapsed_s"] = stamps - (stamps[0] if len(stamps) else 0.0)
    notes: list[str] = []
    try:
        arrivals, _ = read_table(folder / "arrivals.csv", spec=tables.LOADTEST_ARRIVALS)
    except ReportError as exc:
        arrivals = {}
        notes.append(str(exc))
    model = _model_summary(summary, notes)
    prediction = _prediction(summary, notes) if model else None
    return LoadtestResults(folder, summary, history, arrivals, model, notes, prediction, read_level(folder))


def _history_file(folder: Path) -> Path:
    """Locust's history: ``stats_history.csv`` in a ``yanxiu loadtest`` folder, or
    ``locust_stats_history.csv`` where plain Locust wrote it (``--csv <folder>/locust``)."""
    ours, plain = folder / "stats_history.csv", folder / "locust_stats_history.csv"
    return plain if plain.is_file() and not ours.is_file() else ours


def _prediction(summary: LoadtestSummary, notes: list[str]) -> dict[str, np.ndarray] | None:
    """The replayed stretch of the model's time series, at the test's rate and clock
    (loadtests.plan: each model minute lasts 60/compress s and carries scale x the arrivals)."""
    first, compress, scale = summary.stretch_first_minute, summary.compress, summary.scale
    duration = summary.duration_s
    if not (first and summary.model_results and all(v > 0 for v in (compress, scale, duration))):
        notes.append("summary.json lacks stretch_first_minute/compress/scale/duration_s: no prediction drawn")
        return None
    try:
        times, series = _read_timeseries(Path(summary.model_results) / "timeseries.csv")
    except ReportError as exc:
        notes.append(f"no model prediction: {exc}")
        return None
    start = np.datetime64(first.strip()[:16], "m")
    minutes = int(np.ceil(duration * compress / 60.0))
    keep = (times >= start) & (times < start + np.timedelta64(minutes, "m"))
    if not keep.any():
        notes.append(f"the model's time series does not cover the stretch from {first}")
        return None
    out = {k: v[keep] * scale * compress for k, v in series.items() if k.startswith("rps.")}
    # on Locust's clock (the history starts when Locust does): the origin comes after the
    # master's head start and the resumed sessions' set-up window; the last minute's step is
    # closed at its end, so the line spans the whole replayed stretch
    origin = float(summary.lead_s) + float(summary.set_up_s)
    minute_s = 60.0 / compress
    elapsed = (times[keep] - start).astype(float) * minute_s + origin
    out = {k: np.append(v, v[-1]) for k, v in out.items()}
    out["elapsed_s"] = np.append(elapsed, elapsed[-1] + minute_s)
    return out


def load_workload(folder: Path, summary: WorkloadSummary) -> WorkloadResults:
    notes: list[str] = []
    runs: dict[str, dict[str, np.ndarray]] = {}
    try:
        table, texts = read_table(folder / "replications.csv", text_columns=("tier",),
                                  spec=tables.REPLICATIONS)
    except ReportError as exc:
        notes.append(f"{exc}: no per-replication chart")
        return WorkloadResults(folder, summary, runs, notes)
    tiers = np.array(texts.get("tier", []))
    for tier in summary.tiers:
        rows = tiers == tier
        runs[tier] = {name: values[rows] for name, values in table.items()}
    return WorkloadResults(folder, summary, runs, notes)


def load(folder: str | Path) -> ModelResults | LoadtestResults | WorkloadResults:
    """A results folder of any kind: ``records.RecordsError`` for a summary.json of another
    version or shape, ``ReportError`` for a missing or malformed CSV file."""
    folder = Path(folder)
    summary = read_summary(folder)
    if isinstance(summary, ModelSummary):
        return load_model(folder, summary)
    if isinstance(summary, WorkloadSummary):
        return load_workload(folder, summary)
    return load_loadtest(folder, summary)


def warn(message: str) -> None:
    print(f"yanxiu report: warning: {message}", file=sys.stderr)
