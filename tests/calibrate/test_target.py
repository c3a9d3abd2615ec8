"""The reference platform a calibration or its validation starts: with ``resumed``, that many
teachers seeded in a session at the stretch's first minute (bench_calibrate's validation
replays resume the model's sessions: without them each resumed session took an ordinary
teacher and started its study from that teacher's stage, not mid-play or mid-test)."""

from __future__ import annotations

import csv
from pathlib import Path

from calibrate.target import reference

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "scenarios" / "smoke.yaml"


def _in_session(accounts: Path) -> list[str]:
    with accounts.open(newline="", encoding="utf-8") as handle:
        return [row["resume"] for row in csv.DictReader(handle) if row.get("resume")]


def test_the_reference_seeds_the_teachers_in_a_session_it_is_asked_for(tmp_path):
    with reference(SMOKE, 200, "2023-01-05T20:00", "246810", 1, None, "2023-01-05T20:00", tmp_path,
                   None, lambda _: None, resumed=15) as target:
        flights = _in_session(target.accounts)
    assert len(flights) == 15
    assert all(f.split(":")[0] in ("play", "test") for f in flights)
