"""The measured knee beside the model's, in words, for ``yanxiu calibrate``'s bench and the
calibration's own printout (issue 12): the knee's bracket (``calibrate.knee.Knee``: the lowest
rate above it that broke the SLO, a hold's or only the staircase's), and the model's knee on the
load the knee was judged on (``calibrate.model_knee``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calibrate.knee import RESOLUTION
from calibrate.model_knee import Host, ModelKnee, load_of, model_knee


def bracket_line(rate_rps: float | None, upper_rps: float | None, bounded: bool | None,
                 upper_step: str | None = None, width: float | None = None,
                 upper_planned_rps: float | None = None) -> str:
    """The knee's bracket in words: its width by plan (``calibrate.knee.Knee.width``; an older
    record: by the rates finished) and whether it is within ``RESOLUTION``."""
    if rate_rps is None:
        return "no knee"
    if bounded is None:
        return f"knee {rate_rps:.0f} req/s (no bracket recorded)"
    where = f" ({upper_step})" if upper_step else ""
    if bounded and upper_rps is not None:
        wide = width if width is not None else upper_rps / rate_rps
        offered = f", {upper_planned_rps:.0f} offered" if upper_planned_rps else ""
        verdict = "within" if wide <= RESOLUTION * (1.0 + 1e-9) else "WIDER than"
        return (f"knee {rate_rps:.0f} req/s, bracketed by a hold that broke the SLO{where} "
                f"(finished {upper_rps:.0f} req/s{offered}): {wide:.2f}x the knee's load, {verdict} "
                f"{RESOLUTION:g}x")
    above = (f"; the staircase broke it at {upper_rps:.0f} req/s{where}, not at the hold's load"
             if upper_rps is not None else "; nothing broke above it")
    return f"knee {rate_rps:.0f} req/s: a LOWER BOUND, no hold broke the SLO above it{above}"


def for_platform(platform_path: Path, model: Path, knee: Any, slo: tuple[float, float],
                 seed: int = 0, host: Host | None = None) -> ModelKnee:
    """The model's knee for a calibrated platform file on the load its measured knee (``knee``:
    ``calibrate.levels.Knee``) was judged on, from the knee's scale; with ``host``, on this
    host beside its other work (``model_knee.Host``)."""
    from domain.scenario import load_scenario
    from loadtests.plan import read_timeseries

    platform = load_scenario(platform_path)
    timeseries = model / "timeseries.csv"
    endpoints = [e.name for e in platform.platform.endpoints]
    load = load_of(read_timeseries(timeseries), timeseries, endpoints, knee.stretch, knee.compress,
                   knee.judged_s)
    return model_knee(platform, timeseries, load, slo, float(platform.behaviour.overload.abandon_after_s),
                      knee.scale, seed, host)


def both(platform_path: Path, model: Path, knee: Any, slo: tuple[float, float],
         host: Host | None) -> list[ModelKnee]:
    """The model's knee of the platform alone, and on this host when its other work is known."""
    found = [for_platform(platform_path, model, knee, slo)]
    if host is not None:
        found.append(for_platform(platform_path, model, knee, slo, host=host))
    return found


def knee_host(provenance: dict[str, Any] | None, step: str | None) -> Host | None:
    """The host the knee's step ran on, from a calibration's json: its cores and the other work
    beside the server in that step (``step_results[].background_cores``); None when not recorded."""
    found = next((s for s in (provenance or {}).get("step_results") or [] if s.get("name") == step), None)
    if not found or found.get("background_cores") is None or not found.get("host_cores"):
        return None
    return Host(float(found["host_cores"]), float(found["background_cores"]))


def overload_line(overload: Any) -> str:
    """A level's overload verdicts (``calibrate.level_records.Overload``) in words."""
    def side(flag: bool, why: str) -> str:
        return ("yes" if flag else "NO") + (f" ({why})" if why else "")

    return (f"overload: predicted {side(overload.predicted, overload.predicted_why)}; "
            f"measured {side(overload.measured, overload.measured_why)}")


def after_calibration(platform_path: Path, side: Path, model: Path, knee: Any, scale: float, judged_s: float,
                      slo: tuple[float, float], say: Callable[[str], None]) -> ModelKnee | None:
    """The calibration's last word: its knee's bracket and the model's knee for the platform file
    it wrote, on the load the knee was judged on (``knee``: ``calibrate.knee.Knee``, its step's
    ``scale`` and ``judged_s``), alone and on this host beside the other work the knee's step ran
    beside, said and added to the calibration's json (``model_knee``, ``model_knee_on_host``). A
    model run without the time series, or no knee: none."""
    if knee.rate_rps is None or not knee.stretch or knee.compress is None:
        return None
    say(bracket_line(knee.rate_rps, knee.upper_rps, knee.bounded, knee.upper_step, knee.width,
                     knee.upper_planned_rps))
    provenance = json.loads(side.read_text(encoding="utf-8"))
    try:
        found = both(platform_path, model, _Load(knee.stretch, knee.compress, judged_s, scale), slo,
                     knee_host(provenance, knee.step))
    except (OSError, ValueError) as exc:  # the model's results cannot be replayed
        say(f"model's knee: not found ({str(exc).splitlines()[0]})")
        return None
    for each in found:
        say(each.line(knee.rate_rps))
    provenance["model_knee"] = dataclasses.asdict(found[0])
    if len(found) > 1:
        provenance["model_knee_on_host"] = dataclasses.asdict(found[1])
    text = json.dumps(provenance, indent=1, ensure_ascii=False, default=str) + "\n"
    side.write_text(text, encoding="utf-8")
    return found[0]


@dataclasses.dataclass(frozen=True)
class _Load:
    """What ``for_platform`` reads of a knee: the load it was judged on and its scale."""

    stretch: str
    compress: float
    judged_s: float
    scale: float
