"""gate/evaluate.py pinned at its boundaries, against the behaviour its docstrings and
docs/report-gate.md state:

- a regression is a move in the worse direction by MORE than ``max_regression`` of the baseline
  (exactly at the limit passes); higher is worse for peak/mean/max/rate/pNN, lower for share/min;
- from a zero baseline any move the worse way is an infinite change (a regression at any
  finite limit), any move the better way minus infinity, no move zero;
- metrics that are not numbers (NaN, booleans, strings) are never compared; a threshold on one
  is bad input (GateError), as is an unknown metric unless missing metrics are allowed;
- ``--max-regression`` takes a percentage or a fraction below 1, never a negative, infinite or
  NaN one.
"""

from __future__ import annotations

import math

import pytest

from domain.thresholds import parse_threshold
from gate.evaluate import GateError, Regression, compare, evaluate, parse_all, parse_fraction


def one(current: dict, baseline: dict, limit: float = 0.1) -> Regression:
    (result,) = compare(current, baseline, limit)
    return result


# --- compare: the zero baseline ------------------------------------------------------------


def test_errors_rising_from_zero_is_an_infinite_regression():
    result = one({"rate(errors)": 0.005}, {"rate(errors)": 0.0})
    assert result.change == math.inf and result.regressed
    assert (result.baseline, result.current) == (0.0, 0.005)
    # however loose the limit
    assert one({"rate(errors)": 0.005}, {"rate(errors)": 0.0}, limit=1e9).regressed


def test_errors_falling_to_zero_is_a_full_improvement():
    result = one({"rate(errors)": 0.0}, {"rate(errors)": 0.005})
    assert result.change == -1.0 and not result.regressed


def test_zero_to_zero_is_no_change():
    result = one({"rate(errors)": 0.0}, {"rate(errors)": 0.0}, limit=0.0)
    assert result.change == 0.0 and not result.regressed
    assert math.copysign(1.0, result.change) == 1.0  # never printed as -0.0


def test_lower_is_worse_from_a_zero_baseline():
    # share(certified) rising from 0 is better: minus infinity, no regression
    better = one({"share(certified)": 0.2}, {"share(certified)": 0.0})
    assert better.change == -math.inf and not better.regressed
    worse = one({"min(free.api)": -1.0}, {"min(free.api)": 0.0})
    assert worse.change == math.inf and worse.regressed


# --- compare: the limit, the directions ----------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "before", "now", "change"),
    [
        ("peak(rps.total)", 100.0, 120.0, 0.2),
        ("mean(latency.api)", 50.0, 40.0, -0.2),
        ("max(queue.db)", 10.0, 15.0, 0.5),
        ("rate(errors)", 0.02, 0.03, 0.5),
        ("p95(latency.api)", 200.0, 300.0, 0.5),
        ("p99.9(latency.api)", 200.0, 100.0, -0.5),
        ("share(certified)", 0.8, 0.6, 0.25),
        ("share(certified)", 0.5, 0.6, -0.2),
        ("min(free.api)", 10.0, 8.0, 0.2),
        ("min(free.api)", 10.0, 12.0, -0.2),
        ("peak(rps.total)", -10.0, -5.0, 0.5),  # relative to |baseline|
    ],
)
def test_change_is_signed_so_that_worse_is_positive(metric, before, now, change):
    result = one({metric: now}, {metric: before})
    assert result.change == pytest.approx(change)
    assert result.regressed is (change > 0.1)


def test_a_change_exactly_at_the_limit_passes():
    assert not one({"peak(rps.total)": 110.0}, {"peak(rps.total)": 100.0}, limit=0.1).regressed
    assert one({"peak(rps.total)": 110.001}, {"peak(rps.total)": 100.0}, limit=0.1).regressed
    assert not one({"peak(rps.total)": 100.0}, {"peak(rps.total)": 100.0}, limit=0.0).regressed
    assert one({"peak(rps.total)": 100.001}, {"peak(rps.total)": 100.0}, limit=0.0).regressed


@pytest.mark.parametrize("bad", [math.nan, True, False, "12", None, [1.0]])
def test_metrics_that_are_not_numbers_are_never_compared(bad):
    assert compare({"peak(x)": bad}, {"peak(x)": 1.0}, 0.1) == []
    assert compare({"peak(x)": 1.0}, {"peak(x)": bad}, 0.1) == []


def test_only_metrics_with_a_direction_in_both_maps_are_compared():
    current = {"peak(a)": 2.0, "count(b)": 9.0, "peak(only.now)": 1.0, "label": 3}
    baseline = {"peak(a)": 1.0, "count(b)": 1.0, "peak(only.before)": 1.0, "label": 1}
    assert [r.metric for r in compare(current, baseline, 0.1)] == ["peak(a)"]


def test_results_are_sorted_by_metric():
    metrics = {"rate(z)": 1.0, "peak(a)": 1.0, "p95(m)": 1.0}
    assert [r.metric for r in compare(metrics, metrics, 0.1)] == ["p95(m)", "peak(a)", "rate(z)"]


def test_integers_compare_like_floats():
    result = one({"peak(rps.total)": 12}, {"peak(rps.total)": 10})
    assert result.change == pytest.approx(0.2) and result.regressed


# --- evaluate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "actual", "holds"),
    [
        ("p95(latency.api) < 300ms", 300.0, False),
        ("p95(latency.api) < 300ms", 299.999, True),
        ("p95(latency.api) <= 300ms", 300.0, True),
        ("p95(latency.api) <= 0.3s", 300.0001, False),
        ("share(certified) >= 95%", 0.95, True),
        ("share(certified) > 95%", 0.95, False),
        ("rate(errors) == 0", 0.0, True),
        ("rate(errors) != 0", 0.0, False),
    ],
)
def test_thresholds_hold_at_their_limits(text, actual, holds):
    threshold = parse_threshold(text)
    (outcome,) = evaluate([threshold], {threshold.metric: actual})
    assert outcome.passed is holds and outcome.actual == actual and not outcome.skipped


def test_a_missing_metric_is_skipped_only_when_allowed():
    thresholds = parse_all(["p95(latency.api) < 300ms", "rate(errors) < 1%"])
    metrics = {"p95(latency.api)": 100.0}
    first, second = evaluate(thresholds, metrics, allow_missing=True)
    assert first.passed and not first.skipped
    assert second.skipped and second.passed and second.actual is None
    missing = r"^thresholds\[1\] 'rate\(errors\) < 1%': no metric 'rate\(errors\)'"
    with pytest.raises(GateError, match=missing):
        evaluate(thresholds, metrics)


@pytest.mark.parametrize("bad", [math.nan, True, "300", None])
def test_a_threshold_on_a_value_that_is_not_a_number_is_bad_input(bad):
    thresholds = parse_all(["p95(latency.api) < 300ms"])
    for allow_missing in (False, True):
        with pytest.raises(GateError, match=r"thresholds\[0\] .*is not a number"):
            evaluate(thresholds, {"p95(latency.api)": bad}, allow_missing=allow_missing)


def test_parse_all_names_the_entry_and_source():
    with pytest.raises(GateError, match=r"^scenario\.thresholds\[2\] 'peak\(x\) <': "):
        parse_all(["peak(a) < 1", "peak(b) < 2", "peak(x) <"], source="scenario.thresholds")
    assert [t.metric for t in parse_all(["peak(a) < 1", "share(b) > 5%"])] == ["peak(a)", "share(b)"]


# --- --max-regression ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("10%", 0.10), (" 5% ", 0.05), ("0%", 0.0), ("0", 0.0), ("0.25", 0.25), ("150%", 1.5), ("0.999", 0.999)],
)
def test_max_regression_accepted(text, value):
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["-5%", "-0.1", "inf", "inf%", "-inf", "nan", "nan%", "", "%", "ten%",
                                  "5 %%"])
def test_max_regression_refused(text):
    with pytest.raises(GateError, match="^--max-regression: "):
        parse_fraction(text)


@pytest.mark.parametrize("text", ["1", "1.0", "10", "2.5"])
def test_a_bare_number_of_one_or_more_is_ambiguous(text):
    with pytest.raises(GateError, match="ambiguous"):
        parse_fraction(text)


# --- replication intervals: seed noise ------------------------------------------------------


def with_intervals(now: float, now_ci: list, before: float, before_ci: list, limit: float = 0.1):
    (result,) = compare({"peak(x)": now}, {"peak(x)": before}, limit, {"peak(x)": now_ci},
                        {"peak(x)": before_ci})
    return result


def test_with_intervals_the_replication_means_are_compared():
    result = with_intervals(999.0, [120.0, 140.0], -5.0, [90.0, 110.0])
    assert (result.current, result.baseline) == (130.0, 100.0)
    assert result.noise == pytest.approx(math.hypot(10.0, 10.0))
    assert result.change == pytest.approx(0.3) and result.regressed and not result.within_noise


def test_a_move_within_the_combined_half_width_is_seed_noise():
    # +12%: beyond the 10% limit, within sqrt(10² + 10²) = 14.1 of noise
    result = with_intervals(0.0, [102.0, 122.0], 0.0, [90.0, 110.0])
    assert result.change == pytest.approx(0.12) and not result.regressed
    assert result.within_noise and not result.improved
    assert result.describe() == "within seed noise (±14.1)"


def test_a_move_exactly_at_the_noise_is_not_a_regression():
    # half-widths 3 and 4 combine to exactly 5; a worse move of 5 is noise, of 5.5 is not
    assert not with_intervals(0.0, [102.0, 108.0], 0.0, [96.0, 104.0], limit=0.0).regressed
    assert with_intervals(0.0, [102.5, 108.5], 0.0, [96.0, 104.0], limit=0.0).regressed


@pytest.mark.parametrize("bad", [[1.0], [1.0, 2.0, 3.0], "12", None, [math.nan, 1.0], [1.0, math.inf],
                                 [True, 2.0], ("a", 1.0)])
def test_an_unusable_interval_is_no_interval(bad):
    result = with_intervals(130.0, bad, 100.0, [90.0, 110.0])
    assert result.noise is None and (result.current, result.baseline) == (130.0, 100.0)
    assert result.regressed
    other = with_intervals(130.0, [120.0, 140.0], 100.0, bad)
    assert other.noise is None and other.current == 130.0


def test_an_interval_given_as_a_tuple_counts():
    result = with_intervals(0.0, (120.0, 140.0), 0.0, (90.0, 110.0))
    assert result.noise == pytest.approx(math.hypot(10.0, 10.0))


@pytest.mark.parametrize(
    ("now", "before", "text", "improved"),
    [(130.0, 100.0, "worse by 30.0%", False), (84.6, 100.0, "better by 15.4%", True),
     (100.0, 100.0, "unchanged", False)],
)
def test_describe_says_which_way(now, before, text, improved):
    result = one({"peak(x)": now}, {"peak(x)": before})
    assert result.describe() == text and result.improved is improved


# --- the unknown-metric hint ----------------------------------------------------------------


def test_an_unknown_metric_suggests_the_three_closest():
    metrics = {"p95(latency.api1)": 1.0, "p95(latency.api2)": 1.0, "p95(latency.api3)": 1.0,
               "p95(latency.api4)": 1.0, "share(certified)": 1.0}
    with pytest.raises(GateError) as info:
        evaluate(parse_all(["p95(latency.api) < 3s"]), metrics)
    hint = str(info.value).split("(", 2)[-1]
    assert hint.count(" or ") == 2 and "did you mean" in str(info.value)


def test_an_unknown_metric_with_nothing_close_counts_the_metrics():
    with pytest.raises(GateError, match=r"\(2 metrics in summary.json, none like it\)"):
        evaluate(parse_all(["p95(latency.api) < 3s"]), {"share(certified)": 1.0, "peak(bw)": 2.0})


# --- the regression record ------------------------------------------------------------------


def test_within_noise_includes_a_move_equal_to_the_noise():
    assert Regression("peak(x)", 100.0, 105.0, 0.05, False, 5.0).within_noise
    assert Regression("peak(x)", 100.0, 95.0, -0.05, False, 5.0).within_noise
    assert not Regression("peak(x)", 100.0, 105.0, 0.05, True, 4.99).within_noise
    assert not Regression("peak(x)", 100.0, 100.0, 0.0, False).within_noise  # no interval


def test_improved_is_better_and_beyond_the_noise():
    assert Regression("peak(x)", 100.0, 80.0, -0.2, False).improved
    assert not Regression("peak(x)", 100.0, 98.0, -0.02, False, 5.0).improved
    assert not Regression("peak(x)", 100.0, 100.0, 0.0, False).improved
    assert not Regression("peak(x)", 100.0, 120.0, 0.2, True).improved


def test_unchanged_wins_over_noise_in_the_description():
    assert Regression("peak(x)", 100.0, 100.0, 0.0, False, 5.0).describe() == "unchanged"


# --- service levels -------------------------------------------------------------------------


def slo(**fields):
    from records.model import Slo

    base = {"p95_ms": 40.0, "compliant_minutes_share": 1.0, "compliant": True}
    return Slo(**(base | fields))


def test_slo_outcomes_one_per_tier_in_name_order():
    from gate.evaluate import slo_outcomes

    outcomes = slo_outcomes({"db": slo(compliant=False, compliant_minutes_share=0.5537), "api": slo()})
    assert [(o.tier, o.name, o.compliant) for o in outcomes] == [("api", "slo(api)", True),
                                                                ("db", "slo(db)", False)]
    assert outcomes[1].detail == "55.37% of judged minutes within target"


def test_slo_detail_states_each_figure_it_has():
    from gate.evaluate import slo_outcomes

    record = slo(compliant_minutes_share=0.99, judged_minutes=1440, worst_minute_p95_ms=119.8,
                 target_p95_ms=50.0, max_utilisation=0.85, target_max_utilisation=0.8)
    (outcome,) = slo_outcomes({"api": record})
    assert outcome.detail == ("99.00% of 1,440 judged minutes within target; worst-minute p95 119.8 ms "
                              "vs 50 ms; peak utilisation 0.85 vs cap 0.8")


def test_slo_with_no_judged_minute_says_so():
    from gate.evaluate import slo_outcomes

    (outcome,) = slo_outcomes({"api": slo(judged_minutes=0, worst_minute_p95_ms=10.0, target_p95_ms=50.0)})
    assert outcome.detail.startswith("no minute busy enough to judge latency")
    assert "worst-minute" not in outcome.detail


# --- ranges (yanxiu run --ranges) and the sign of no change ---------------------------------


def test_every_threshold_is_judged_after_one_on_a_range():
    from records.model import Range

    thresholds = parse_all(["peak(rps.total) < 11k", "rate(errors) < 1%", "peak(rps.total) > 5000"])
    ranged = {"peak(rps.total)": Range(central=4740.0, p05=4580.0, p95=10490.0)}
    outcomes = evaluate(thresholds, {"peak(rps.total)": 4740.0, "rate(errors)": 0.02}, ranges=ranged)
    assert [(o.passed, o.actual, o.judged_at) for o in outcomes] == [
        (True, 10490.0, "p95"), (False, 0.02, ""), (False, 4580.0, "p05")]


def test_a_range_that_is_not_a_number_is_bad_input():
    from records.model import Range

    ranged = {"peak(rps.total)": Range(central=1.0, p05=math.nan, p95=2.0)}
    not_a_number = r"^thresholds\[0\] .*the range of 'peak\(rps.total\)' is not a number"
    with pytest.raises(GateError, match=not_a_number):
        evaluate(parse_all(["peak(rps.total) > 0"]), {"peak(rps.total)": 1.0}, ranges=ranged)
    # an upper limit reads only p95: a NaN p05 is not in the way
    (outcome,) = evaluate(parse_all(["peak(rps.total) < 3"]), {}, ranges=ranged)
    assert outcome.passed and outcome.actual == 2.0


@pytest.mark.parametrize("metric", ["share(certified)", "min(free.api)", "peak(rps.total)"])
def test_no_change_from_a_non_zero_baseline_is_a_positive_zero(metric):
    result = one({metric: 0.5}, {metric: 0.5}, limit=0.0)
    assert result.change == 0.0 and math.copysign(1.0, result.change) == 1.0  # never printed -0.0
    assert not result.regressed and result.describe() == "unchanged"


def test_peak_utilisation_is_stated_only_with_its_cap():
    from gate.evaluate import slo_outcomes

    for fields in ({"max_utilisation": 0.85}, {"target_max_utilisation": 0.8}):
        (outcome,) = slo_outcomes({"api": slo(**fields)})
        assert "utilisation" not in outcome.detail


def test_outcomes_are_frozen():
    import dataclasses

    from gate.evaluate import Outcome, SloOutcome

    outcome = Outcome(parse_threshold("peak(x) < 1"), 0.5, True)
    level = SloOutcome("api", True, "fine")
    change = Regression("peak(x)", 1.0, 2.0, 1.0, True)
    for record, field in ((outcome, "passed"), (level, "compliant"), (change, "regressed")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, False)


def test_the_ambiguous_bare_number_says_both_ways_to_write_it():
    with pytest.raises(GateError) as refused:
        parse_fraction("10")
    assert str(refused.value) == "--max-regression: '10' is ambiguous; write 10% or 0.1 for 10%"


def test_every_threshold_is_judged_after_a_skipped_one():
    thresholds = parse_all(["rate(errors) < 1%", "p95(latency.api) < 300ms"])
    skipped, judged = evaluate(thresholds, {"p95(latency.api)": 400.0}, allow_missing=True)
    assert skipped.skipped and judged.actual == 400.0 and not judged.passed
