"""What a report reads of a bench validation level's ``level.json`` (written whole by
``calibrate.level_records.LevelResult``): the comparison of the calibrated model's prediction
with the level's measurement, and the overload verdicts. The level's plan and other figures are
kept as extra keys (``Part``), not read here; ``calibrate.level_records`` reads the whole file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from records.base import Part
from records.errors import RecordsError
from records.files import first_error
from records.prediction import Prediction

LEVEL = "level.json"


class LevelOverload(Part):
    """Whether a level was overloaded, by the measurement and by the model's prediction of its
    planned load, judged alike (``calibrate.overload``: p95 over the SLO, errors or timeouts, a
    queue growing in the busiest window), and why in words (``calibrate.level_records.Overload``)."""

    predicted: bool
    measured: bool
    predicted_why: str = ""
    measured_why: str = ""


class LevelView(Part):
    kind: Literal["bench-level"] = "bench-level"
    why: str = ""  # no result: why
    comparison: Prediction | None = None
    overload: LevelOverload | None = None


def read_level(folder: str | Path) -> LevelView | None:
    """``folder/level.json`` as a ``LevelView``; None when the folder has none (not a bench
    level). A file that is not one raises ``RecordsError`` with one line."""
    path = Path(folder) / LEVEL
    if not path.is_file():
        return None
    try:
        return LevelView.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise RecordsError(f"{path}: {first_error(exc)}") from None
    except (OSError, ValueError) as exc:
        raise RecordsError(f"{path}: not readable JSON: {exc}") from None
