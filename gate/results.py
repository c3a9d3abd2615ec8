"""Read what the gate needs from a results folder (docs/results.md): summary.json and the
scenario it came from."""

from __future__ import annotations

import json
from pathlib import Path

from gate.evaluate import GateError

REPO = Path(__file__).resolve().parent.parent


def load_summary(results: str | Path, require_metrics: bool = True) -> dict:
    """summary.json of a results folder, checked to be a mapping with (unless told otherwise)
    a ``metrics`` map."""
    folder = Path(results)
    if not folder.is_dir():
        raise GateError(f"{folder}: no such results folder")
    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateError(f"{path}: missing (is {folder} a results folder?)") from None
    except (OSError, ValueError) as exc:
        raise GateError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(summary, dict):
        raise GateError(f"{path}: expected a JSON object")
    if require_metrics and not isinstance(summary.get("metrics"), dict):
        raise GateError(f"{path}: metrics: missing or not a mapping")
    return summary


def scenario_path(summary: dict, results: str | Path, given: str | None = None) -> Path:
    """The scenario file: the one given, else summary.json's ``scenario_path`` (the file as
    ``yanxiu run`` was given it), else its ``scenario`` (a path, or a name looked up as
    scenarios/<name>.yaml from here and from the repository: older results)."""
    if given:
        return Path(given)
    named = summary.get("scenario")
    recorded = summary.get("scenario_path")
    if not isinstance(named, str) or not named:
        if isinstance(recorded, str) and Path(recorded).is_file():
            return Path(recorded)
        raise GateError(f"{Path(results) / 'summary.json'}: scenario: not named; pass --scenario FILE")
    candidates = [Path(named), Path(results) / "scenario.yaml"]
    if isinstance(recorded, str) and recorded:
        candidates.insert(0, Path(recorded))
    if not named.endswith((".yaml", ".yml")):
        candidates += [Path("scenarios") / f"{named}.yaml", REPO / "scenarios" / f"{named}.yaml"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise GateError(f"scenario {named!r} from summary.json not found (tried {tried}); pass --scenario FILE")
