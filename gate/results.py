"""Read what the gate needs from a results folder (docs/results.md): its summary record and the
scenario it came from."""

from __future__ import annotations

from pathlib import Path

from gate.evaluate import GateError
from records import AnySummary as Summary
from records import RecordsError, read_summary, scenario_file


def load_summary(results: str | Path) -> Summary:
    """summary.json of a results folder as its record (``records.RecordsError`` when it is of
    another version or shape)."""
    return read_summary(results)


def scenario_path(summary: Summary, results: str | Path, given: str | None = None) -> Path:
    """The scenario file: the one given, else the one the results record (never one guessed
    from the scenario's name); GateError naming the field when it cannot be found."""
    try:
        return scenario_file(summary, results, given)
    except RecordsError as exc:
        raise GateError(str(exc)) from None
