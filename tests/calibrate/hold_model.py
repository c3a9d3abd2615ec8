"""A small model run for the holds' tests (calibrate.holds, calibrate.confirm): 2023-01-05
18:00-22:00, the peak hour 20:00-21:00 (most sessions started), heartbeats 2/s in 20:10-20:34
(the busiest 24 minutes: 40 s at compress 36) and 1/s elsewhere, logins 0.1/s, 300 sessions in
progress throughout (60% basic, 40% mobile viewers)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from types import SimpleNamespace

ZONE = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2023, 1, 5, 18, 0, tzinfo=ZONE)
ENDPOINTS = ["heartbeat", "login"]
BUSY = range(130, 154)  # 20:10-20:34
# the staircase's judged part: the last 10 s of 20 s at compress 144 (20:24-20:48): 10 minutes at
# 2 and 14 at 1 heartbeat/s, 0.1 login/s; a hold's: 20:10-20:34 at compress 36
STAIR_RPS = ((10 * 2.0 + 14 * 1.0) / 24 + 0.1) * 144
HOLD_RPS = (2.0 + 0.1) * 36


def write_model(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "timeseries.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["minute", "arrivals.sessions", "sessions", "viewers.basic", "viewers.mobile",
                         "rps.heartbeat", "rps.login"])
        for i in range(240):
            writer.writerow([(START + dt.timedelta(minutes=i)).isoformat(), 10.0 if 120 <= i < 180 else 1.0,
                             300.0, 180.0, 120.0, 2.0 if i in BUSY else 1.0, 0.1])
    return folder / "timeseries.csv"


def context(series) -> SimpleNamespace:
    """What ``calibrate.confirm`` reads of a replay's context."""
    endpoints = [SimpleNamespace(name=e) for e in ENDPOINTS]
    return SimpleNamespace(plan=SimpleNamespace(series=series),
                           scenario=SimpleNamespace(platform=SimpleNamespace(endpoints=endpoints)))


def config(model: Path, **more) -> SimpleNamespace:
    """The calibration's settings ``calibrate.confirm`` reads."""
    settings = {"model_results": model, "stretch": "peak-hour", "compress": 144.0, "hold_compress": 36.0,
                "step_seconds": 20.0, "bin_seconds": 5.0, "budget_s": 600.0, "max_holds": 4}
    return SimpleNamespace(**(settings | more))
