"""The gate's ``prediction_error(fn(metric))`` figures (calibrate.compare.gate_metrics, written into the
prediction's ``metrics``),
pinned with hand-made rows, the rule stated again here:

- ``prediction_error(X)`` = |predicted / measured − 1| of figure X, as a fraction: the absolute
  value of the row's signed ``relative_error``; a tier's utilisation error is given in
  percentage points (``error_pp``) and is that over 100;
- the figures named: rps → mean(rps.E), p50/p95/p99 → pNN(latency.E), mean_ms →
  mean(latency.E); any other figure (error_rate) and any row without an error gives none;
- the prediction at the achieved load wins over the planned one when there is one (endpoints
  and tiers each on its own); a comparison that is not comparable gives no figure at all.
"""

from __future__ import annotations

import pytest

from calibrate.compare import gate_metrics
from domain.thresholds import parse_threshold
from records.prediction import Prediction


def rows(**errors) -> dict:
    return {figure: {"predicted": 1.0, "measured": 1.0, "relative_error": e} for figure, e in errors.items()}


def tier(error_pp) -> dict:
    measured = None if error_pp is None else 0.5 - error_pp / 100
    return {"predicted": 0.5, "measured": measured, "error_pp": error_pp}


def comparison(endpoints=None, tiers=None, at_achieved=None, comparable=True) -> Prediction:
    """A hand-made prediction, as summary.json holds it."""
    return Prediction.model_validate({
        "comparable": comparable, "reason": "" if comparable else "load generator saturated",
        "calibrated_target": "T", "tested_target": "T", "endpoints": endpoints or {},
        "tiers": tiers or {}, "at_achieved": at_achieved or {}})


def metrics(c: Prediction) -> dict[str, float]:
    return gate_metrics(c.comparable, c.compared())


def test_each_figure_gets_its_metric_name_and_the_absolute_error():
    c = comparison(endpoints={"heartbeat": rows(rps=-0.25, p50_ms=0.1, p95_ms=-0.3, p99_ms=0.4,
                                                mean_ms=-0.05, error_rate=0.9)})
    assert metrics(c) == {
        "prediction_error(mean(rps.heartbeat))": 0.25,
        "prediction_error(p50(latency.heartbeat))": 0.1,
        "prediction_error(p95(latency.heartbeat))": 0.3,
        "prediction_error(p99(latency.heartbeat))": 0.4,
        "prediction_error(mean(latency.heartbeat))": 0.05,
    }
    for name in metrics(c):  # every name is one the threshold language parses
        assert parse_threshold(f"{name} < 20%").metric == name


def test_a_row_without_an_error_gives_no_metric():
    c = comparison(endpoints={"login": {
        "p95_ms": {"predicted": 3.0, "measured": 4.0, "relative_error": None, "why_no_error": "999 requests"},
        "p50_ms": {"predicted": 3.0, "measured": None}, "rps": {"predicted": 2.0, "measured": 2.0,
                                                                 "relative_error": 0.0}}})
    assert metrics(c) == {"prediction_error(mean(rps.login))": 0.0}


def test_a_tiers_error_in_percentage_points_is_a_fraction():
    c = comparison(tiers={"api": {"predicted": 0.42, "measured": 0.5, "error_pp": -8.0},
                          "db": {"predicted": 0.1, "measured": None, "error_pp": None}})
    assert metrics(c) == {"prediction_error(max(utilisation.api))": pytest.approx(0.08)}


def test_the_prediction_at_the_achieved_load_wins():
    planned = {"heartbeat": rows(p95_ms=0.5)}
    achieved = {"endpoints": {"heartbeat": rows(p95_ms=-0.02)}, "tiers": {"api": tier(1.5)}}
    c = comparison(endpoints=planned, tiers={"api": tier(30.0)}, at_achieved=achieved)
    assert metrics(c) == {"prediction_error(p95(latency.heartbeat))": 0.02,
                           "prediction_error(max(utilisation.api))": pytest.approx(0.015)}


def test_each_part_falls_back_to_the_planned_load_on_its_own():
    planned = {"heartbeat": rows(p95_ms=0.5)}
    only_tiers = comparison(endpoints=planned, tiers={"api": tier(30.0)},
                            at_achieved={"tiers": {"api": tier(2.0)}})
    assert metrics(only_tiers) == {"prediction_error(p95(latency.heartbeat))": 0.5,
                                    "prediction_error(max(utilisation.api))": pytest.approx(0.02)}
    only_endpoints = comparison(endpoints=planned, tiers={"api": tier(30.0)},
                                at_achieved={"endpoints": {"heartbeat": rows(p95_ms=0.1)}, "tiers": {}})
    assert metrics(only_endpoints) == {"prediction_error(p95(latency.heartbeat))": 0.1,
                                        "prediction_error(max(utilisation.api))": pytest.approx(0.3)}


def test_not_comparable_gives_nothing_even_with_errors():
    c = comparison(endpoints={"heartbeat": rows(p95_ms=0.5)}, tiers={"api": tier(3.0)},
                   comparable=False)
    assert metrics(c) == {}
    assert c.reason == "load generator saturated"
