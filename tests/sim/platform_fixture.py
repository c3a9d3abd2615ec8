"""A small platform scenario for tests: smoke and a second campaign two days later that
shares resource 1.1 (course 1 of smoke, course 11 of the second)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from domain.platform import PlatformScenario, load_platform

SMOKE = Path(__file__).resolve().parents[2] / "scenarios" / "smoke.yaml"


def write_platform(folder: Path, teachers: int = 1500, in_both: float = 0.0) -> Path:
    """``in_both``: the share of the second campaign's teachers also in smoke (overlaps:)."""
    first = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    second = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    second["name"] = "second"
    second["population"]["teachers"] = teachers
    second["calendar"].update(start=dt.datetime(2023, 1, 5), end=dt.datetime(2023, 1, 17))
    second["rules"]["certificates_issued"] = dt.datetime(2023, 1, 18, 9)
    second["behaviour"]["waves"] = []
    for course in second["courses"]:
        course["id"] += 10
        course["opens"] = dt.date(2023, 1, 5)
        for r in course["resources"]:
            r["id"] = r["id"] if r["id"] == "1.1" else "s" + r["id"]
    (folder / "first.yaml").write_text(yaml.safe_dump(first), encoding="utf-8")
    (folder / "second.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    doc = {"kind": "platform", "name": "two", "seed": 5, "campaigns": ["first.yaml", "second.yaml"],
           "platform": first["platform"], "service_levels": first["service_levels"]}
    if in_both:
        doc["overlaps"] = [{"campaign": "second", "also_in": "smoke", "share": in_both}]
    path = folder / "platform.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def small_platform(folder: Path) -> PlatformScenario:
    return load_platform(write_platform(folder))
