"""A platform of two campaigns for the reference platform's tests: ``smoke``
(scenarios/smoke.yaml: window 2023-01-03 to 01-13, course 2 with resource 2.1 opens 01-05)
and ``extra`` (window 01-03 to 01-20, course 11 opens 01-03 and holds the same resource 2.1,
28:00 in both, plus its own x.1)."""

from __future__ import annotations

import yaml

from tests.conftest import SMOKE

SHARED = "2.1"


def platform_files(folder) -> str:
    """The platform file (and its two campaign files) written into ``folder``."""
    smoke = yaml.safe_load(SMOKE.read_text())
    (folder / "smoke.yaml").write_text(yaml.safe_dump(smoke))
    extra = yaml.safe_load(SMOKE.read_text())
    extra["name"] = "extra"
    extra["calendar"]["end"] = "2023-01-20T00:00:00"
    extra["rules"].update(credit_cap_hours=1, completion_hours=1, certificates_issued="2023-01-21T09:00:00")
    course = dict(smoke["courses"][0], id=11, name="Shared theme", opens="2023-01-03",
                  credit={"hours": 1, "min_study_minutes": 20})
    course["resources"] = [{"id": SHARED, "title": "Part 1", "duration_s": "28:00"},
                           {"id": "x.1", "title": "Own video", "duration_s": "10:00"}]
    extra["courses"] = [course]
    extra["behaviour"]["waves"][0]["courses"] = [11]
    (folder / "extra.yaml").write_text(yaml.safe_dump(extra))
    platform = {key: smoke[key] for key in ("platform", "service_levels")}
    platform.update(kind="platform", name="two", seed=1, campaigns=["smoke.yaml", "extra.yaml"])
    path = folder / "platform.yaml"
    path.write_text(yaml.safe_dump(platform))
    return str(path)
