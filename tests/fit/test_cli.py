"""``yanxiu fit`` refuses bad targets in one line with exit code 2, before simulating."""

import pytest
import yaml

from tests.conftest import ROOT, WINTER
from yanxiu.cli import main

TARGETS = ROOT / "scenarios" / "targets" / "winter-2023.yaml"


def _write(tmp_path, change):
    data = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))
    change(data["targets"])
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _unknown_metric(targets):
    targets[1]["metric"] = "peak_hour_ratio"


def _negative(targets):
    targets[2]["value"] = -3.181e9


def _contradiction(targets):
    targets.append({**targets[0], "name": "more than 15 M", "relation": "lower", "value": 15e6})


def _unmovable(targets):
    targets[4]["use"] = "fit"  # the app share: an input of the scenario


def _beyond_workforce(targets):
    targets[0]["value"] = 2e7


@pytest.mark.parametrize("change, message", [
    (_unknown_metric, "targets[1].metric: unknown metric 'peak_hour_ratio'"),
    (_negative, "targets[2].value: negative figure -3181000000.0"),
    (_contradiction, "targets: contradictory targets for 'participants' (targets[0], targets[12])"),
    (_unmovable, "targets[4] (app share of page views): no fitted parameter can move 'app_share'"),
    (_beyond_workforce, "targets[0] (participants): more participants than the scenario's "
                        "18,803,600 teachers"),
])
def test_bad_targets_one_line_exit_2(tmp_path, capsys, change, message):
    out = tmp_path / "fitted.yaml"
    code = main(["fit", str(WINTER), "--targets", str(_write(tmp_path, change)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_targets_of_another_campaign(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    data = yaml.safe_load(TARGETS.read_text(encoding="utf-8"))
    data["campaign"] = "summer-2022"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["fit", str(WINTER), "--targets", str(path)]) == 2
    assert "targets are for campaign 'summer-2022'" in capsys.readouterr().err


def test_unknown_parameter(capsys):
    assert main(["fit", str(WINTER), "--targets", str(TARGETS), "--params", "gap_hours_mean,moon"]) == 2
    assert "--params: unknown parameter 'moon'" in capsys.readouterr().err
