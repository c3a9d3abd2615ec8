"""Results folders for gate tests (built by tests/report/builder.py) and a scenario writer."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import SMOKE
from tests.report.builder import write_model_results


@pytest.fixture(scope="session")
def passing(tmp_path_factory):
    return write_model_results(tmp_path_factory.mktemp("gate") / "smoke")


@pytest.fixture
def scenario_with(tmp_path):
    """Write the smoke scenario with other thresholds; returns its path."""

    def write(thresholds: list[str], name: str = "gate.yaml"):
        data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
        data["thresholds"] = thresholds
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write
