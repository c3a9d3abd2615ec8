"""What a calibration is asked for (``yanxiu calibrate``'s options, bench/bench_calibrate.py's
settings): the scenario, the target, the staircase's steps and holds, the time budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibrate.holds import VALIDATION_COMPRESS
from calibrate.target import Target


@dataclass
class Config:
    scenario_path: Path
    model_results: Path
    out: Path  # the platform file
    force: bool = False
    host: str | None = None
    route_map: Path | None = None
    accounts: Path | None = None
    answers: Path | None = None
    database_url: str | None = None
    server_workers: int = 2
    stretch: str = "peak-hour"
    compress: float = 144.0
    base_scale: float = 0.1
    step_seconds: float = 25.0
    bin_seconds: float = 5.0
    max_steps: int = 10
    # confirmation holds at most (0: the knee from the staircase, unconfirmed); the budget decides
    # before (2026-12-01: four of ~80 s fit after the staircase, calibrate.confirm)
    max_holds: int = 5
    # the holds' compression: the validation levels' (bench/bench_calibrate.py --test-compress), so
    # that a hold's judged minutes carry as many sessions in flight per request as a level's
    hold_compress: float = VALIDATION_COMPRESS
    budget_s: float = 600.0  # the whole calibration's wall time (issue 12's bar); holds fit in it
    spent_s: float = 0.0  # already spent by the caller before ``calibrate`` (a target it seeded)
    seed: int = 0
    sms_code: str = "246810"
    teachers: int | None = None
    work_dir: Path | None = None
    extra_options: dict[str, Any] = field(default_factory=dict)
    target: Target | None = None  # a target already running (bench/bench_calibrate.py)
