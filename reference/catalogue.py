"""The campaign as the server serves it: the scenario's courses and resources plus the rules
object from ``domain.campaign`` (never a copy of the rules), built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from domain.campaign import Campaign
from domain.scenario import Course, Scenario, ScenarioError


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    id: str
    course_id: int
    title: str
    duration_s: float


class Catalogue:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.name = scenario.name
        self.rules = Campaign(scenario)
        self.courses: dict[int, Course] = {c.id: c for c in scenario.courses}
        self.resources: dict[str, ResourceInfo] = {}
        for course in scenario.courses:
            for r in course.resources:
                if r.id in self.resources:
                    # The heartbeat names a resource only, so ids must be campaign-unique.
                    raise ScenarioError(
                        f"{scenario.name}: courses[{course.id}].resources: resource id {r.id!r} "
                        "is used twice in the campaign"
                    )
                self.resources[r.id] = ResourceInfo(r.id, course.id, r.title, r.duration_s)
        self.provinces = [p.name for p in scenario.population.provinces]
        self.sub_platforms = list(scenario.population.sub_platforms)
