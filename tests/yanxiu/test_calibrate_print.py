"""What `yanxiu calibrate` prints of the machine it ran on: a calibration beside other work
(here 0.88 cores of 2 on 2026-11-30 19:16, knee 263 req/s against 440 on a quiet machine) must
say so beside its knee, not only in platform.json."""

from __future__ import annotations

import json

from yanxiu.commands.calibrate import _busy_machine


def _platform(tmp_path, other: float):
    path = tmp_path / "platform.yaml"
    path.write_text("platform: {}\n")
    background = {"host_cores": 2, "mean_cores": other + 0.1, "max_cores": 1.4, "other_cores": other,
                  "max_other_cores": 1.27, "steps": 13}
    path.with_suffix(".json").write_text(json.dumps({"background": background}))
    return path


def test_a_busy_machine_is_named(tmp_path):
    line = _busy_machine(_platform(tmp_path, 0.877))
    assert "0.88 cores of other work beside the calibration (of 2; max 1.27)" in line


def test_a_quiet_machine_or_no_sample_says_nothing(tmp_path):
    assert _busy_machine(_platform(tmp_path, 0.07)) == ""
    assert _busy_machine(tmp_path / "absent.yaml") == ""


def test_the_holds_default_is_the_configs():
    """The CLI's --holds default and Config.max_holds are one figure (the CLI does not import the
    config at start-up, so the two are written twice; this keeps them equal)."""
    import argparse

    from calibrate.config import Config
    from yanxiu.commands.calibrate import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["scenario.yaml"]).holds == Config.max_holds
