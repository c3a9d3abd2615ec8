"""Several campaigns on one platform: parts add up to the totals, shared credit in the model,
results independent of the processes, one-line refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from domain.platform import load_platform
from sim.campaigns import contributions, run_platform
from tests.sim.platform_fixture import write_platform


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("platform")


@pytest.fixture(scope="module")
def run(folder):
    return run_platform(load_platform(write_platform(folder)), scale=0.5, workers=2)


def test_campaigns_sit_on_one_clock(run):
    assert [p.name for p in run.parts] == ["smoke", "second"]
    assert [p.offset for p in run.parts] == [0, 2 * 1440]
    second = run.part("second")
    assert not second.series["rps.total"][:2 * 1440].any()  # nothing before it starts
    assert second.series["rps.total"].sum() > 0


def test_outputs_by_campaign_add_up_exactly_to_the_totals(run):
    for name, total in run.series.items():
        parts = np.zeros_like(total)
        for part in run.parts:
            parts += part.series[name]
        assert np.array_equal(parts, total), name
    for part in run.parts:  # and each part is its campaign's own run, placed on the clock
        own = part.run.recorder.series()["rps.total"]
        assert np.array_equal(part.series["rps.total"][part.offset:part.offset + own.size], own)


def test_contributions_add_up_to_the_shared_peak(run):
    peak = contributions(run)["peak"]
    shares = sum(c["at_peak"] for c in peak["by_campaign"].values())
    assert shares == pytest.approx(peak["value"], rel=1e-12)
    assert peak["value"] == pytest.approx(run.series["rps.total"].max(), rel=1e-12)
    tiers = contributions(run)["tiers"]
    assert set(tiers) == {"api", "database", "sms_gateway", "video_cdn"}
    assert all(t["set_by"] in ("smoke", "second") for t in tiers.values())


def test_shared_study_is_routed_only_while_the_other_campaign_records_it(run):
    smoke, second = run.part("smoke"), run.part("second")
    assert smoke.routed_hours["second"] > 0 and second.routed_hours["smoke"] > 0
    # at most the shared share (resource 1.1: 910 s of course 1's 3,730 s) of the course's study
    studied_h = float(smoke.run.progress.studied[:, 0] @ smoke.run.population.weight) / 3600
    assert smoke.routed_hours["second"] <= studied_h * 910 / 3730 + 1e-9


@pytest.mark.slow
def test_no_sharing_when_the_windows_do_not_meet(tmp_path):
    path = write_platform(tmp_path)
    second = yaml.safe_load((tmp_path / "second.yaml").read_text(encoding="utf-8"))
    second["calendar"].update(start=dt.datetime(2023, 1, 14), end=dt.datetime(2023, 1, 20))
    second["rules"]["certificates_issued"] = dt.datetime(2023, 1, 21, 9)
    for course in second["courses"]:
        course["opens"] = dt.date(2023, 1, 14)
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    run = run_platform(load_platform(path), scale=0.3, workers=1)
    assert run.part("smoke").routed_hours == {"second": 0.0}
    assert run.part("second").routed_hours == {"smoke": 0.0}


@pytest.mark.slow
def test_results_do_not_depend_on_the_processes(run, folder):
    alone = run_platform(load_platform(folder / "platform.yaml"), scale=0.5, workers=1)
    for name, values in run.series.items():
        assert np.array_equal(values, alone.series[name]), name


def test_a_campaign_off_the_minute_grid_is_refused(tmp_path):
    path = write_platform(tmp_path)
    second = yaml.safe_load((tmp_path / "second.yaml").read_text(encoding="utf-8"))
    second["calendar"]["start"] = dt.datetime(2023, 1, 5, 0, 0, 30)
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    with pytest.raises(ValueError, match="whole minutes"):
        run_platform(load_platform(path), scale=0.1)


def test_the_results_folder_splits_by_campaign(run, folder, tmp_path, capsys):
    from records import read_summary
    from sim.outputs.platform import write_platform_results

    write_platform_results(run, tmp_path, scenario_path=str(folder / "platform.yaml"))
    table = np.genfromtxt(tmp_path / "timeseries.csv", delimiter=",", names=True, dtype=None,
                          encoding="utf-8", deletechars="")
    for column in ("rps.total", "sessions", "egress_gbps"):
        parts = table[f"campaign.smoke.{column}"] + table[f"campaign.second.{column}"]
        assert np.allclose(parts, table[column], rtol=1e-8, atol=1e-12), column
    summary = read_summary(tmp_path)
    each = summary.campaigns.each  # records.model.Campaigns
    assert set(each) == {"smoke", "second"}
    assert summary.participants == sum(c.participants for c in each.values())
    assert each["second"].starts.startswith("2023-01-05T00:00")
    assert set(summary.campaigns.tiers) == set(summary.capacity)
    for name in each:
        assert read_summary(tmp_path / "campaigns" / name).scenario == name
    from yanxiu.cli import main  # the gate reads the platform scenario's thresholds and SLOs

    assert main(["check", str(tmp_path)]) == 0
    assert "scenario two" in capsys.readouterr().out
