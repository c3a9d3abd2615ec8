"""bench_calibrate sizes each validation level's target from the level's own replay, whatever
the knee: as `yanxiu loadtest` seeds its own (teachers for its logins, teachers in a session
for its resumed sessions, enough of each sub-platform), its clock at the stretch's first minute
at the level's compression (the calibration's target ran at 144x from the calibration's start:
~12 campaign hours past the stretch when the levels began, 4x faster than their replay)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

import numpy as np

from bench.bench_calibrate import _context, _level_seeding
from yanxiu.replay_setup import in_session_to_seed

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.yaml"
ZONE = dt.timezone(dt.timedelta(hours=8))


def _model(folder: Path) -> Path:
    """Two days of a model run: 10 sessions a minute from 20:00 on the first (its peak hour),
    600 running, 20% of the viewers and arrivals on the 20-s sub-platforms."""
    folder.mkdir(parents=True)
    start = dt.datetime(2023, 1, 5, 0, 0, tzinfo=ZONE)
    header = ["minute", "offset_min", "rps.total", "sessions", "viewers", "arrivals.sessions",
              "arrivals.registrations", "arrivals.sessions.basic", "arrivals.sessions.higher",
              "arrivals.sessions.vocational", "viewers.basic", "viewers.higher", "viewers.vocational"]
    with (folder / "timeseries.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i in range(2880):
            peak = 20 * 60 <= i < 21 * 60
            n = 10.0 if peak else 1.0
            writer.writerow([(start + dt.timedelta(minutes=i)).isoformat(), i, 1.0, 60 * n, 50 * n, n, 0.0,
                             0.8 * n, 0.1 * n, 0.1 * n, 40 * n, 5 * n, 5 * n])
    (folder / "outcomes_daily.csv").write_text("day,active\n2023-01-05,1500\n2023-01-06,1500\n")
    return folder


def _args(resume: int) -> argparse.Namespace:
    return argparse.Namespace(scenario=SMOKE, resume_sessions=resume, test_compress=36.0)


def test_a_levels_target_is_seeded_for_its_own_replay(tmp_path):
    model = _model(tmp_path / "model")
    low = _level_seeding(_args(1), _context(_args(1), model, 0.5, 100.0, 36.0), model)
    context = _context(_args(1), model, 20.0, 100.0, 36.0)  # 110% of a ~500/s knee
    high = _level_seeding(_args(1), context, model)
    plan = context.plan
    assert high["clock"] == "2023-01-05T20:00" and high["clock_rate"] == 36.0
    assert high["progress_at"] == "2023-01-05T20:00"
    # every resumed session an in-session account of its own sub-platform, every login one
    assert plan.resumed_count() == round((600 - 10) * 20.0)
    shares = {"basic": 0.8, "higher": 0.1, "vocational": 0.1}
    assert high["resumed"] == in_session_to_seed(plan, shares) > plan.resumed_count()
    logins = plan.per_minute[0].sum() - plan.per_minute[1].sum()
    assert high["teachers"] >= logins + high["resumed"]
    # grows with the level (40x its scale here), where a fixed 10,000 ran out at 60% of a 500/s knee
    assert high["teachers"] > 20_000 and high["teachers"] > 20 * low["teachers"]
    without = _level_seeding(_args(0), context, model)
    assert without["resumed"] == 0 and without["teachers"] == high["teachers"] - high["resumed"]


def test_the_seeded_split_of_sub_platforms_covers_the_resumed_sessions(tmp_path):
    model = _model(tmp_path / "model")
    plan = _context(_args(1), model, 1.0, 100.0, 36.0).plan
    seeded = _level_seeding(_args(1), _context(_args(1), model, 1.0, 100.0, 36.0), model)["resumed"]
    wanted = [plan.resumed_subs(plan.resumed_count()).count(s) for s in ("basic", "higher", "vocational")]
    draws = np.random.default_rng(2).multinomial(seeded, [0.8, 0.1, 0.1], size=10_000)
    assert np.any(draws < np.array(wanted), axis=1).mean() < 0.005


def test_a_platform_file_without_a_knee_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from bench import bench_calibrate

    model = _model(tmp_path / "model")
    platform = tmp_path / "platform.yaml"
    platform.write_text(f"extends: {SMOKE}\n")
    base = ["bench_calibrate.py", "--model-results", str(model), "--out", str(tmp_path / "out"), "--platform"]
    for given in (tmp_path / "missing.yaml", platform):
        monkeypatch.setattr("sys.argv", base + [str(given)])
        assert bench_calibrate.main() == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    (tmp_path / "platform.json").write_text('{"target_kind": "reference (SQLite, 2 workers)", "knee": '
                                            '{"rate_rps": null, "step": null}, "step_results": []}')
    assert bench_calibrate.main() == 2
    assert "found no knee" in capsys.readouterr().err
