"""Targets files (domain.targets): the shipped ones load; bad ones fail in one line."""

import math

import pytest

from domain.targets import METRICS, TargetsError, load_targets, parse_targets
from tests.conftest import ROOT

TARGETS = ROOT / "scenarios" / "targets"


def _target(**changes):
    target = {"name": "participants", "metric": "participants", "value": 13_720_000,
              "relation": "match", "uncertainty": {"relative": 0.02}, "why": "headline",
              "source": {"document": "zxxx", "where": "p. 1"}}
    target.update(changes)
    return target


def _parse(*targets):
    return parse_targets({"campaign": "winter-2023", "targets": list(targets)}, "t.yaml")


@pytest.mark.parametrize("path", sorted(TARGETS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_targets_load_and_cite_their_sources(path):
    targets = load_targets(path)
    for t in targets.targets:
        assert t.source.document and t.source.where and t.why
        if t.relation != "context":
            assert t.metric in METRICS


def test_bounds_and_bands():
    t = _parse(_target(), _target(name="pv", metric="page_views", value=3.181e9, relation="upper",
                                  uncertainty=None))
    participants, views = t.targets
    assert participants.interval() == pytest.approx((13_445_600, 13_994_400))
    assert participants.distance(13_720_000) == 0 and participants.distance(13_994_400) == 0
    assert participants.distance(14_500_000) > 1
    assert views.interval() == (0.0, 3.181e9) and views.distance(1e9) == 0
    assert views.distance(6.362e9) > 10 and math.isinf(views.distance(0.0)) is False


@pytest.mark.parametrize("target, message", [
    (_target(metric="particpants"), "t.yaml: targets[0].metric: unknown metric 'particpants'"),
    (_target(value=-5), "t.yaml: targets[0].value: negative figure -5"),
    (_target(uncertainty=None), "t.yaml: targets[0].uncertainty: a match target needs its uncertainty"),
    (_target(uncertainty={"low": 5, "high": 2}), "t.yaml: targets[0].uncertainty: high 2.0 is below low 5.0"),
    (_target(source={"document": "x"}), "t.yaml: targets[0].source.where: missing field"),
])
def test_bad_target_is_one_line_naming_the_field(target, message):
    with pytest.raises(TargetsError) as err:
        _parse(target)
    assert str(err.value) == message


def test_contradictory_targets_are_refused():
    low = _target(name="at least 15 M", relation="lower", value=15_000_000, uncertainty=None)
    with pytest.raises(TargetsError, match=r"targets: contradictory targets for 'participants' "
                                           r"\(targets\[0\], targets\[1\]\)"):
        _parse(_target(), low)
