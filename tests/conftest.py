from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WINTER = ROOT / "scenarios" / "winter-2023.yaml"
SMOKE = ROOT / "scenarios" / "smoke.yaml"


@pytest.fixture(scope="session")
def winter():
    from domain.scenario import load_scenario

    return load_scenario(WINTER)


@pytest.fixture(scope="session")
def smoke():
    from domain.scenario import load_scenario

    return load_scenario(SMOKE)


@pytest.fixture(scope="session")
def campaign(winter):
    from domain.campaign import Campaign

    return Campaign(winter)
