"""Several campaigns on one platform: parts add up to the totals, shared credit in the model,
results independent of the processes, one-line refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml

from domain.platform import load_platform
from sim.campaigns import contributions, run_platform
from sim.sessions.recorder import TALLY
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


@pytest.fixture(scope="module")
def overlap(tmp_path_factory):
    """The same platform with 70% of the second campaign's teachers also in smoke."""
    path = write_platform(tmp_path_factory.mktemp("overlap"), in_both=0.7)
    return run_platform(load_platform(path), scale=0.5, workers=2)


def studied_h(part) -> float:
    """Study recorded in the campaign's progress, own and shared, weighted (hours)."""
    return float(part.run.progress.studied.sum(axis=1) @ part.run.population.weight) / 3600


def own_h(part) -> float:
    """Study the campaign's own journeys played (hours)."""
    return part.run.recorder.tally[TALLY.index("study_s")] / 3600


def test_no_teacher_in_both_campaigns_no_shared_credit(run):
    for part in run.parts:
        assert set(part.routed_hours.values()) == {0.0}
        assert studied_h(part) == pytest.approx(own_h(part), rel=1e-9)


def test_teachers_in_both_campaigns_get_credit_in_both(run, overlap):
    smoke, second = overlap.part("smoke"), overlap.part("second")
    into_smoke, into_second = second.routed_hours["smoke"], smoke.routed_hours["second"]
    assert into_smoke > 0 and into_second > 0
    # each campaign's progress holds its own journeys' study plus what the other credited
    assert studied_h(smoke) == pytest.approx(own_h(smoke) + into_smoke, rel=1e-9)
    assert studied_h(second) == pytest.approx(own_h(second) + into_second, rel=1e-9)
    # at most the shared share (resource 1.1: 910 s of course 11's 3,730 s) of the course's study
    course_11 = float(second.run.progress.studied[:, 0] @ second.run.population.weight) / 3600
    assert into_smoke <= (course_11 - into_second) * 910 / 3730 + 1e-9
    # the teachers in both are simulated once per campaign: the participants do not change
    for name in ("smoke", "second"):
        assert overlap.part(name).run.population.participants == run.part(name).run.population.participants
    both = smoke.in_both["second"]
    assert both == second.in_both["smoke"] and 0.6 < both / second.run.population.participants < 0.8
    assert run.part("smoke").in_both == {}
    # the streams that drew who is in both and their journeys in smoke are in the seeds
    assert {"overlap.in_both", "overlap.personas", "in_both.sessions"} <= set(smoke.run.seeds)


def test_the_load_is_counted_once_when_the_credit_is_shared(overlap):
    for name, total in overlap.series.items():
        assert np.array_equal(sum((p.series[name] for p in overlap.parts), np.zeros_like(total)), total)


def test_no_credit_where_the_other_campaign_does_not_record_it(tmp_path):
    path = write_platform(tmp_path, in_both=0.7)
    second = yaml.safe_load((tmp_path / "second.yaml").read_text(encoding="utf-8"))
    second["calendar"].update(start=dt.datetime(2023, 1, 14), end=dt.datetime(2023, 1, 20))
    second["rules"]["certificates_issued"] = dt.datetime(2023, 1, 21, 9)
    for course in second["courses"]:
        course["opens"] = dt.date(2023, 1, 14)
    (tmp_path / "second.yaml").write_text(yaml.safe_dump(second), encoding="utf-8")
    run = run_platform(load_platform(path), scale=0.3, workers=1)  # smoke closed on 01-13
    assert run.part("smoke").routed_hours == {"second": 0.0}
    assert run.part("second").routed_hours == {"smoke": 0.0}
    for part in run.parts:
        assert studied_h(part) == pytest.approx(own_h(part), rel=1e-9)


@pytest.mark.slow
def test_results_do_not_depend_on_the_processes(run, folder, overlap):
    alone = run_platform(load_platform(folder / "platform.yaml"), scale=0.5, workers=1)
    for name, values in run.series.items():
        assert np.array_equal(values, alone.series[name]), name
    alone = run_platform(overlap.plan, scale=0.5, workers=1)  # teachers in both: one process
    assert alone.part("smoke").routed_hours == overlap.part("smoke").routed_hours
    for name, values in overlap.series.items():
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


def test_the_summary_says_who_is_in_both_and_what_they_were_credited(overlap, tmp_path):
    from records import read_summary
    from sim.outputs.platform import write_platform_results

    write_platform_results(overlap, tmp_path, scenario_path="platform.yaml")
    each = read_summary(tmp_path).campaigns.each
    assert each["smoke"].in_both["second"] == pytest.approx(overlap.part("smoke").in_both["second"])
    assert each["second"].in_both["smoke"] == pytest.approx(overlap.part("second").in_both["smoke"])
    hours = each["second"].shared_study_hours["smoke"]
    assert hours == pytest.approx(overlap.part("second").routed_hours["smoke"]) and hours > 0
