"""The validation bench's results as typed records: a level's plan and outcome (``level.json`` in
the level's folder) and the bench's summary (``bench.json``), each written once through its model
and read back through the same model (``write``, ``read``); a file that does not fit its model
raises ``CalibrationError`` with one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from calibrate.errors import CalibrationError
from records.level import LevelOverload
from records.loadtest import EndpointFigures, Prediction

LEVEL, BENCH = "level.json", "bench.json"


class LevelPlan(BaseModel):
    """What a level means (``calibrate.levels.plan_level``): rates in req/s of test time."""

    level: float
    scale: float  # the replay's: its busiest window plans level x the knee's rate
    scale_by_knee_scale: float  # level x the knee's scale, as the bench had it before 2026-11-30 19:30
    compress: float
    knee_rps: float  # measured in the knee step's judged windows
    knee_scale: float
    knee_step: str
    knee_planned_rps: float  # the plan's for those windows at the knee's scale
    window_s: float  # the knee's judged length
    busiest_start_s: float  # the validation's busiest window, from the replay's origin
    busiest_rps: float  # planned there at ``scale``
    mean_rps: float  # planned over the whole replay at ``scale``
    busiest_mix: dict[str, float]  # endpoint -> share of the planned requests there
    knee_mix: dict[str, float]  # the same in the knee's judged windows
    mix_distance: float  # total-variation distance between the two
    mix_differs: bool  # above calibrate.levels.MATERIAL
    # the knee was judged on this replay's busiest window at its compression (a hold since
    # 2026-11-30 22:40): ``scale`` is level x the knee's scale (calibrate.levels); False: by its rate
    by_knee_scale: bool = False
    knee_compress: float | None = None  # the compression the knee was judged at (None: not recorded)
    # the knee was not exact (a lower bound, or its bracket wider than calibrate.knee.RESOLUTION): a
    # level above 1 is then planned from the bracket's upper end, the lowest rate that broke the SLO
    # (``calibrate.levels.Knee.for_level``); ``knee_rps`` and ``knee_scale`` stay the knee's own
    from_upper: bool = False
    knee_upper_rps: float | None = None
    knee_bounded: bool | None = None


# a level's overload verdicts: one model with the one the report reads level.json through
Overload = LevelOverload


class LevelResult(BaseModel):
    kind: Literal["bench-level"] = "bench-level"
    plan: LevelPlan
    why: str = ""  # no result: why
    total: EndpointFigures | None = None  # the load test's, all endpoints
    generator_cpu_max: float | None = None
    measured_busiest_rps: float | None = None  # finished in the busiest planned window
    comparison: Prediction | None = None  # calibrate.compare, the calibrated platform
    sharing: Prediction | None = None  # the same with the api as processor sharing
    notes: dict[str, str] = {}  # tier -> what its measured utilisation covers
    overload: Overload | None = None  # levels above the knee


class BenchSummary(BaseModel):
    kind: Literal["bench-calibrate"] = "bench-calibrate"
    platform: str
    calibrated: bool  # False: an existing platform file (--platform)
    commit: str  # the calibration's
    knee_rps: float
    knee_scale: float
    knee_step: str
    levels: list[str]  # the levels' folders, relative to the bench's
    load_before: float
    load_after: float
    # the knee's bracket (calibrate.knee.Knee): the lowest rate above it that broke, whether a
    # hold did (else the knee is a lower bound), and the model's own knee on the same load
    # (calibrate.model_knee: planned req/s in the judged windows, and where its busiest tier saturates)
    knee_upper_rps: float | None = None
    knee_bounded: bool | None = None
    model_knee_rps: float | None = None
    model_knee_scale: float | None = None
    model_saturation_rps: float | None = None
    # the model's knee on this host, beside the other work the knee's hold ran beside (model_knee.Host)
    model_knee_on_host_rps: float | None = None


M = TypeVar("M", bound=BaseModel)


def write(path: Path, record: BaseModel) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.model_dump(mode="json"), indent=1, ensure_ascii=False,
                               allow_nan=False) + "\n", encoding="utf-8")
    return path


def read(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalibrationError(f"{path}: not readable ({exc.strerror})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CalibrationError(f"{path}: {where}: {first['msg']}") from None
