"""The knee's record says which load it was judged on (calibrate.calibration.judged_on, the
platform file's head): a rate is a knee only of one replay's minutes at one compression."""

from __future__ import annotations

from types import SimpleNamespace

from calibrate.calibration import judged_on
from calibrate.knee import Knee
from calibrate.platform_file import _knee_text
from calibrate.steps import StepRun, StepSpec


def _run(spec: StepSpec) -> StepRun:
    return StepRun(spec, [], None, {}, {})  # type: ignore[arg-type]


def test_the_knee_names_the_minutes_and_compression_it_was_judged_on():
    config = SimpleNamespace(compress=144.0, stretch="peak-hour", step_seconds=20.0)
    hold = StepSpec("hold-8", 8.0, seconds=65.01, stretch="2023-01-05T19:46..2023-01-05T20:25", settle_s=44.0,
                    compress=36.0, resume=True, judged="2023-01-05T20:01..2023-01-05T20:25", set_up_s=19.2)
    found = Knee(450.0, "hold-8", 300.0, 0.01, True, "", True, 66.0, "confirmed by a 66-s hold (hold-8)")
    knee = judged_on(found, [_run(StepSpec("stair-1", 1.0)), _run(hold)], config)  # type: ignore[arg-type]
    assert (knee.stretch, knee.compress, knee.judged, knee.resumed) == (
        "2023-01-05T19:46..2023-01-05T20:25", 36.0, "2023-01-05T20:01..2023-01-05T20:25", True)
    assert knee.how.endswith("judged on 2023-01-05T20:01..2023-01-05T20:25 at compress 36, the sessions "
                             "in progress at its first minute resumed")
    stair = judged_on(Knee(300.0, "stair-1", 300.0, 0.01, True, ""), [_run(StepSpec("stair-1", 1.0))],
                       config)  # type: ignore[arg-type]
    assert (stair.compress, stair.resumed) == (144.0, False)
    assert stair.judged == "the last 10 s of 20 s of peak-hour"
    text = _knee_text({"knee": knee.__dict__})
    assert text.startswith("# Knee: 450 req/s at p95 <= 300 ms (hold-8, confirmed, judged on 2023-01-05")
    assert "at compress 36 with the sessions in progress resumed" in text
    assert _knee_text({"knee": {"rate_rps": None, "note": "no step met the SLO"}}).startswith("# Knee: none")


def test_an_older_record_without_the_load_still_reads():
    older = {"rate_rps": 231.0, "slo_p95_ms": 300.0, "step": "hold-1.09", "confirmed": True}
    assert _knee_text({"knee": older}) == "# Knee: 231 req/s at p95 <= 300 ms (hold-1.09, confirmed)."
