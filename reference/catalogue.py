"""The campaigns as the server serves them: each campaign's courses and resources plus the
rules object from ``domain.campaign`` (never a copy of the rules), built once at start-up.
A campaign scenario gives one campaign; a platform scenario (``domain.platform``) several,
whose shared resources share credit (``domain.campaign.SharedCredit``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from domain.campaign import Campaign, SharedCredit
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
        # Set by Campaigns when other campaigns on the platform hold some of these resources:
        # the heartbeat routes their credit through it. None (one campaign, nothing shared)
        # keeps the hot path free of any shared-credit work.
        self.shared: SharedCredit | None = None


class CampaignUnknown(LookupError):
    """A campaign name the server does not run; str() says which ones it runs."""


class Campaigns:
    """Every campaign the server runs, in the scenario's order; the first is the default of
    the routes that name none (a single-campaign server behaves as before)."""

    def __init__(self, catalogues: list[Catalogue]) -> None:
        self.by_name = {c.name: c for c in catalogues}
        self.default = catalogues[0]
        self.single = len(catalogues) == 1
        self.by_course = {cid: c for c in catalogues for cid in c.courses}
        # a resource's first campaign in the scenario's order: a beat that names no campaign
        self.by_resource: dict[str, Catalogue] = {}
        for catalogue in catalogues:
            for rid in catalogue.resources:
                self.by_resource.setdefault(rid, catalogue)
        if not self.single:
            shared = SharedCredit(c.rules for c in catalogues)
            for catalogue in catalogues:
                if any(len(shared.accepting(rid)) > 1 for rid in catalogue.resources):
                    catalogue.shared = shared

    def __iter__(self):
        return iter(self.by_name.values())

    def names(self) -> list[str]:
        return list(self.by_name)

    def get(self, name: str | None) -> Catalogue:
        """The named campaign (the default when None)."""
        if name is None:
            return self.default
        found = self.by_name.get(name)
        if found is None:  # at most 64 characters of what was sent
            raise CampaignUnknown(f"no campaign {name[:64]!r}; this server runs {', '.join(self.by_name)}")
        return found

    def for_beat(self, name: str | None, resource_id: str) -> Catalogue:
        """The campaign a heartbeat plays in: the one it names, else the first that has the
        resource (one dictionary look-up; the single campaign when there is one)."""
        if self.single and name is None:
            return self.default
        if name is None:
            return self.by_resource.get(resource_id, self.default)
        return self.get(name)


def load_campaigns(path: str | Path) -> Campaigns:
    """The campaigns of a campaign or platform scenario file (ScenarioError if invalid)."""
    from domain.platform import load_any

    loaded = load_any(path)
    scenarios = [loaded] if isinstance(loaded, Scenario) else list(loaded.campaigns)
    return Campaigns([Catalogue(s) for s in scenarios])
