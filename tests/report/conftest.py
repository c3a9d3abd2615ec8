"""Results folders for report tests: synthetic ones (tests/report/builder.py) built once."""

from __future__ import annotations

import pytest

from tests.report.builder import write_loadtest_results, write_model_results


@pytest.fixture(scope="session")
def model_results(tmp_path_factory):
    return write_model_results(tmp_path_factory.mktemp("results") / "smoke")


@pytest.fixture(scope="session")
def loadtest_results(tmp_path_factory, model_results):
    return write_loadtest_results(tmp_path_factory.mktemp("results") / "loadtest", model_results)
