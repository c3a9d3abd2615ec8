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


@pytest.fixture(scope="session")
def model_report(tmp_path_factory, model_results):
    """The model report in English and Chinese, built once: {lang: page}."""
    from report.build import build_report

    out = tmp_path_factory.mktemp("reports")
    return {lang: build_report(model_results, lang, out / lang / "report.html") for lang in ("en", "zh")}


@pytest.fixture(scope="session")
def loadtest_report(tmp_path_factory, loadtest_results):
    from report.build import build_report

    return build_report(loadtest_results, "en", tmp_path_factory.mktemp("reports") / "lt" / "report.html")


@pytest.fixture(scope="session")
def real_results(tmp_path_factory):
    """A real `yanxiu run` of the smoke scenario (small population): the contract as written."""
    from tests.conftest import SMOKE
    from yanxiu.cli import main

    out = tmp_path_factory.mktemp("real") / "smoke"
    assert main(["run", str(SMOKE), "--teachers", "300", "--no-charts", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def real_report(real_results):
    from report.build import build_report

    return build_report(real_results, "zh")
