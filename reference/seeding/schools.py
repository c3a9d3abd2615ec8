"""Schools per province and sub-platform, with names such as 太原市清河区第三小学.

The scenario gives the number of schools for its full population; a seed of N teachers gets the
same teachers-per-school ratio. Schools differ in size (a lognormal weight), and each
sub-platform has its own mean size, so a few universities hold as many teachers as many
kindergartens. The "other / temporary unit" of each province and sub-platform is made by the
server at start-up (``reference.bootstrap``), not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.scenario import SUB_PLATFORMS
from reference.seeding.regions import county_count, county_names

# Mean full-time teachers per school, from [bulletin] 2022: basic 16.10 M over 505,800 schools;
# higher 1.36 M over ~1,240 universities; vocational 1.34 M over ~1,490 higher-vocational
# colleges and ~7,200 secondary vocational schools.
MEAN_TEACHERS_PER_SCHOOL = {"basic": 32.0, "higher": 1100.0, "vocational": 154.0}
# [bulletin] kinds of basic-education school: kindergartens 289,200, primary 149,100,
# junior secondary 52,500, senior secondary 15,000.
BASIC_KINDS = (("幼儿园", 289_200), ("小学", 149_100), ("初级中学", 52_500), ("高级中学", 15_000))
VOCATIONAL_KINDS = (("职业技术学院", 1_490), ("职业中等专业学校", 7_200))
HIGHER_KINDS = (("大学", 4), ("学院", 3), ("师范学院", 1), ("理工大学", 1), ("医科大学", 1))
SIZE_SIGMA = 0.8  # estimate: spread of school sizes (lognormal sigma)
NUMERALS = "零一二三四五六七八九"


@dataclass(frozen=True)
class SchoolPlan:
    """Columns of the seeded schools (index-aligned) and the counties they sit in."""

    names: list[str]
    province: list[str]
    county: list[str]
    sub_platform: Sequence[str]
    size: np.ndarray
    counties: dict[str, list[str]]  # province -> its county names


def zh_number(n: int) -> str:
    """Chinese numerals as in school names: 3 -> 三, 10 -> 十, 12 -> 十二, 25 -> 二十五."""
    if n < 10:
        return NUMERALS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        head = "" if tens == 1 else NUMERALS[tens]
        return f"{head}十{NUMERALS[ones] if ones else ''}"
    return str(n)


def school_counts(
    teachers: int,
    scenario_teachers: int,
    scenario_schools: int,
    shares: dict[str, float],
    provinces: int,
) -> dict[str, int]:
    """Schools per sub-platform: the scenario's teachers-per-school ratio, split by mean size,
    at least one per province for every sub-platform that has teachers."""
    total = max(teachers * scenario_schools / scenario_teachers, 1.0)
    raw = {s: shares.get(s, 0.0) / MEAN_TEACHERS_PER_SCHOOL[s] for s in SUB_PLATFORMS}
    norm = sum(raw.values())
    return {
        s: max(round(total * raw[s] / norm), provinces) if shares.get(s, 0.0) > 0 else 0
        for s in SUB_PLATFORMS
    }


def _kinds(rng: np.random.Generator, kinds: tuple, n: int) -> np.ndarray:
    labels = np.array([k for k, _ in kinds])
    weights = np.array([w for _, w in kinds], dtype=float)
    return labels[rng.choice(len(labels), size=n, p=weights / weights.sum())]


def _name(sub: str, county: str, kind: str, ordinal: int, rng: np.random.Generator) -> str:
    """Colleges are named after the city, schools after the county; a county's first primary
    school or kindergarten is its 实验 (experimental) or 中心 (central) one."""
    place = county.split("市")[0] if kind.endswith(("大学", "学院")) else county
    if ordinal == 1 and kind in ("小学", "幼儿园"):
        return f"{place}{'实验' if rng.random() < 0.5 else '中心'}{kind}"
    if ordinal == 1 and not kind.endswith("中学"):
        return f"{place}{kind}"
    return f"{place}第{zh_number(ordinal)}{kind}"


def plan_schools(
    rng: np.random.Generator,
    provinces: list[str],
    province_weights: np.ndarray,
    counts: dict[str, int],
) -> SchoolPlan:
    """Spread ``counts`` schools over the provinces (by weight) and counties; name them."""
    p = np.asarray(province_weights, dtype=float) / np.sum(province_weights)
    per_province = {
        s: 1 + rng.multinomial(n - len(provinces), p) if n else np.zeros(len(provinces), int)
        for s, n in counts.items()
    }
    taken: set[str] = set()
    counties = {
        prov: county_names(rng, county_count(int(per_province["basic"][i])), taken, prov)
        for i, prov in enumerate(provinces)
    }
    kind_pools = {"basic": BASIC_KINDS, "higher": HIGHER_KINDS, "vocational": VOCATIONAL_KINDS}
    ordinals: dict[tuple[str, str], int] = defaultdict(int)
    names, prov_col, county_col, sub_col = [], [], [], []
    for sub in SUB_PLATFORMS:
        for i, prov in enumerate(provinces):
            n = int(per_province[sub][i])
            if n == 0:
                continue
            where = np.array(counties[prov])[rng.integers(0, len(counties[prov]), size=n)]
            for county, kind in zip(where.tolist(), _kinds(rng, kind_pools[sub], n).tolist(), strict=True):
                key = (county.split("市")[0] if kind.endswith(("大学", "学院")) else county, kind)
                ordinals[key] += 1
                names.append(_name(sub, county, kind, ordinals[key], rng))
                prov_col.append(prov)
                county_col.append(county)
                sub_col.append(sub)
    size = rng.lognormal(0.0, SIZE_SIGMA, size=len(names))
    return SchoolPlan(names, prov_col, county_col, sub_col, size, counties)


def assign_schools(
    rng: np.random.Generator,
    plan: SchoolPlan,
    sub_idx: np.ndarray,
    prov_idx: np.ndarray,
    provinces: list[str],
) -> np.ndarray:
    """Index into ``plan`` for each teacher, given his sub-platform and province indices;
    within a province and sub-platform, bigger schools get more teachers."""
    sub_of: dict[str, int] = {s: i for i, s in enumerate(SUB_PLATFORMS)}
    prov_of = {p: i for i, p in enumerate(provinces)}
    school_group = np.array(
        [prov_of[p] * 3 + sub_of[s] for p, s in zip(plan.province, plan.sub_platform, strict=True)]
    )
    teacher_group = prov_idx * 3 + sub_idx
    order = np.argsort(teacher_group, kind="stable")
    bounds = np.searchsorted(teacher_group[order], np.arange(len(provinces) * 3 + 1))
    chosen = np.empty(len(sub_idx), dtype=np.int64)
    for group in range(len(provinces) * 3):
        members = order[bounds[group] : bounds[group + 1]]
        if len(members) == 0:
            continue
        candidates = np.flatnonzero(school_group == group)
        if len(candidates) == 0:
            raise ValueError(
                f"no school for province {provinces[group // 3]!r}, sub-platform {SUB_PLATFORMS[group % 3]!r}"
            )
        weights = plan.size[candidates] / plan.size[candidates].sum()
        chosen[members] = candidates[rng.choice(len(candidates), size=len(members), p=weights)]
    return chosen
