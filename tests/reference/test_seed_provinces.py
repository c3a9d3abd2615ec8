"""Seeded schools lie in their province: the city in a county's name belongs to it."""

from __future__ import annotations

import numpy as np

from reference.seeding.regions import PROVINCE_CITIES
from reference.seeding.schools import plan_schools


def test_every_seeded_school_sits_in_a_city_of_its_province():
    provinces = list(PROVINCE_CITIES)
    plan = plan_schools(
        np.random.default_rng(7),
        provinces,
        np.ones(len(provinces)),
        {"basic": 900, "higher": 60, "vocational": 90},
    )
    home = {city: province for province, cities in PROVINCE_CITIES.items() for city in cities}
    for name, province, county in zip(plan.names, plan.province, plan.county, strict=True):
        city = county.split("市")[0]
        assert home[city] == province, (name, province, county)
        assert name.startswith(city)
    guangdong = [c for c, p in zip(plan.county, plan.province, strict=True) if p == "Guangdong"]
    assert guangdong and not any(c.startswith("成都") for c in guangdong)
