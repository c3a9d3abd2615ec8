"""yanxiu run --capacity: absolute sizes, shares of the run's own need (api=80%, api=80%min:
the model runs once at the scenario's capacity first), and bad values as one line, exit code 2."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SMOKE
from yanxiu.cli import main


@pytest.mark.parametrize("text, problem", [
    ("web=3", "no tier 'web'"),
    ("api=80%max", "'80%max' is not a size"),
    ("api=0%min", "positive"),
    ("api=-5%", "positive"),
    ("api=%", "'%' is not a size"),
    ("api=x%", "'x' is not a number"),
    ("api=4,api=80%", "given twice"),
])
def test_a_bad_capacity_is_one_line_and_exit_2(tmp_path, capsys, text, problem):
    assert main(["run", str(SMOKE), "--capacity", text, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and problem in err[0], err


def test_a_share_of_the_need_is_measured_first_then_the_resized_run_is_written(tmp_path, capsys):
    """smoke: a first run at its own capacity gives the video tier's minimum (its peak egress)
    and plan (peak / 0.8); the run written is at 80% of the minimum and says so."""
    ample = tmp_path / "ample"
    assert main(["run", str(SMOKE), "--no-charts", "--no-confirm", "--out", str(ample)]) == 0
    needs = json.loads((ample / "summary.json").read_text())["capacity"]
    need = needs["video_cdn"]
    capsys.readouterr()
    out = tmp_path / "short"
    assert main(["run", str(SMOKE), "--capacity", "video_cdn=80%min,api=80%", "--no-charts",
                 "--no-confirm", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "80% of its minimum (latency targets, no headroom)" in printed
    assert "api: 1 server = 80% of its plan (with headroom) 1" in printed  # at least one server
    summary = json.loads((out / "summary.json").read_text())
    short = summary["capacity"]
    assert short["video_cdn"]["provided"] == pytest.approx(0.8 * need["minimum"])
    assert short["api"]["provided"] == 1
    assert need["minimum"] == pytest.approx(need["needed"] * 0.8)  # smoke's cap: 80% utilisation
    # the what-if is recorded: what was asked, of which need, measured at the scenario's size
    video = summary["what_if"]["video_cdn"]
    assert video["asked"] == "80%min" and video["share_of"] == "min" and video["scenario_size"] == 1
    assert video["base"] == pytest.approx(need["minimum"]) and video["size"] == short["video_cdn"]["provided"]
    assert summary["what_if"]["api"] == {"asked": "80%", "size": 1, "scenario_size": 4, "share_of": "need",
                                         "base": needs["api"]["needed"]}


def test_an_absolute_size_is_recorded_as_asked(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(SMOKE), "--teachers", "300", "--capacity", "api=3", "--no-charts",
                 "--no-confirm", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["what_if"] == {"api": {"asked": "3", "size": 3, "scenario_size": 4}}
    assert summary["capacity"]["api"]["provided"] == 3


def test_a_bad_capacity_leaves_an_earlier_results_folder_in_place(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SMOKE), "--teachers", "200", "--no-charts", "--no-confirm",
                 "--out", str(out)]) == 0
    before = (out / "summary.json").read_bytes()
    assert main(["run", str(SMOKE), "--capacity", "api=80%maximum", "--out", str(out)]) == 2
    assert (out / "summary.json").read_bytes() == before


def test_capacity_on_a_platform_scenario_is_refused_in_one_line(tmp_path, capsys):
    from tests.sim.platform_fixture import write_platform

    platform = write_platform(tmp_path)
    capsys.readouterr()
    assert main(["run", str(platform), "--capacity", "api=3", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not available for a platform scenario" in err[0]


def test_a_share_of_a_tier_short_at_the_scenario_s_capacity_is_measured_with_it_raised(tmp_path, capsys):
    """smoke with its video link at 0.1 Gbps (its plan is about 0.25): the first run's egress is
    swollen by stalled plays retried, so its need is not the campaign's; the tier is raised to
    that plan and the need measured again, which gives the ample run's minimum."""
    import yaml

    ample = tmp_path / "ample"
    assert main(["run", str(SMOKE), "--no-charts", "--no-confirm", "--out", str(ample)]) == 0
    clean = json.loads((ample / "summary.json").read_text())["capacity"]["video_cdn"]
    document = yaml.safe_load(SMOKE.read_text())
    for tier in document["platform"]["tiers"]:
        if tier["name"] == "video_cdn":
            tier["capacity_gbps"] = 0.1
    short = tmp_path / "short.yaml"
    short.write_text(yaml.safe_dump(document, allow_unicode=True))
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["run", str(short), "--capacity", "video_cdn=80%min", "--no-charts", "--no-confirm",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().err
    assert "the need was measured with tiers short of their plan raised to it: video_cdn=" in said
    video = json.loads((out / "summary.json").read_text())["what_if"]["video_cdn"]
    assert video["scenario_size"] == pytest.approx(0.1) and video["base_measured_at"] > 0.1
    assert video["base"] == pytest.approx(clean["minimum"], rel=0.02)
    assert video["size"] == pytest.approx(0.8 * video["base"])
