"""``yanxiu loadtest`` on a platform scenario: every campaign's replay of the same stretch at
once against one reference platform serving them all (yanxiu.commands.loadtest_platform)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.sim.platform_fixture import write_platform
from yanxiu.cli import main
from yanxiu.commands.loadtest_platform import Part, _report, _slices


@pytest.mark.parametrize("available, wanted",
                         [(100, [30, 10]), (7, [1, 1, 1]), (1000, [5, 995]), (3, [50, 1])])
def test_each_campaign_gets_its_own_accounts(available, wanted):
    bounds = _slices(available, wanted)
    assert bounds[0][0] == 0 and bounds[-1][1] == available
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # disjoint, no gap
    assert all(hi > lo for lo, hi in bounds)
    if available >= 10 * len(wanted):
        share = [(hi - lo) / available for lo, hi in bounds]
        assert share == pytest.approx([w / sum(wanted) for w in wanted], abs=0.02)


@pytest.mark.parametrize("option", [["--host", "http://127.0.0.1:9"], ["--platform", "x.yaml"],
                                    ["--api", "m:C"]])
def test_another_systems_options_are_refused_in_one_line(tmp_path, capsys, option):
    path = write_platform(tmp_path)
    if option[0] == "--platform":
        (tmp_path / "x.yaml").write_text("{}")
        option = ["--platform", str(tmp_path / "x.yaml")]
    assert main(["loadtest", str(path), *option]) == 2
    err = capsys.readouterr().err.strip()
    assert option[0] in err and "\n" not in err and "platform scenario" in err


def test_a_campaign_with_nothing_in_the_stretch_reports_a_line(tmp_path, capsys):
    """A campaign with no request (no latency figures) is a line, not a traceback."""
    from types import SimpleNamespace

    from domain.scenario import load_scenario
    from tests.conftest import SMOKE

    out = tmp_path / "smoke"
    out.mkdir()
    total = {"requests": 0, "failures": 0, "rps": 0.0, "error_rate": 0.0,
             "p50_ms": None, "p95_ms": None, "p99_ms": None}
    arrivals = {"planned": 0.0, "achieved": 0, "dropped": 0, "by_process": {"local": 0}, "bin_s": 10.0,
                "max_bin_error": 0.0, "within_10pct": True}
    cpu = {"max": 2.0, "mean": 0.1, "saturated": False, "processes": 1, "threshold_pct": 90.0}
    (out / "summary.json").write_text(json.dumps({
        "kind": "loadtest", "version": 1, "scenario": "smoke",
        "stretch": "2023-01-05T21:00..2023-01-05T22:00", "compress": 144.0, "scale": 0.5,
        "host": "http://127.0.0.1:9", "duration_s": 25.0,
        "arrival_process": "deterministic", "endpoints": {}, "total": total, "arrivals": arrivals,
        "generator_cpu": cpu, "exceptions": {"count": 0, "top": ""}, "trustworthy": True, "verdict": [],
        "metrics": {}}))
    context = SimpleNamespace(scenario=load_scenario(SMOKE))
    part = Part("smoke", SMOKE, tmp_path / "no-model", context, 0.0, out)
    assert _report([part], {"smoke": 0}) == 0
    assert "smoke: arrivals 0 of 0.0, requests 0; trustworthy" in capsys.readouterr().out


@pytest.mark.slow
def test_the_combined_load_is_replayed_against_one_platform(tmp_path):
    path = write_platform(tmp_path)
    model = tmp_path / "model"
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "run", str(path), "--out", str(model),
                           "--no-charts"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "yanxiu.cli", "loadtest", str(path),
                           "--model-results", str(model), "--stretch", "2023-01-05T19:00..2023-01-05T19:40",
                           "--compress", "144", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "smoke, second replayed together" in done.stdout and "all campaigns: arrivals" in done.stdout
    for name in ("smoke", "second"):
        summary = json.loads((out / "campaigns" / name / "summary.json").read_text())
        assert summary["arrivals"]["achieved"] > 0 and summary["trustworthy"], name
        assert summary["stretch"] == "2023-01-05T19:00..2023-01-05T19:40"
        endpoints = summary["endpoints"]
        # each replay's plays and pages are its own campaign's: not one refusal (a beat in the
        # wrong campaign would be 403 not enrolled, a page of the wrong campaign no study)
        for endpoint in ("enrol", "campaign_page", "heartbeat"):
            assert endpoints[endpoint]["requests"] > 0, (name, endpoint)
        for endpoint, figures in endpoints.items():  # admin_progress too: ?campaign= then its own query
            assert figures["failures"] == 0, (name, endpoint)
