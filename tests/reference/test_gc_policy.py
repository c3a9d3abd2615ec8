"""reference.gc_policy: the collections' timer, the policies, once per process; the setting."""

from __future__ import annotations

import gc
import subprocess
import sys
import typing
import unittest.mock

import pytest
from prometheus_client import REGISTRY

from reference import gc_policy
from reference.settings import Settings, SettingsError


def _sample(name: str, generation: str) -> float:
    return REGISTRY.get_sample_value(name, {"generation": generation}) or 0.0


def test_a_forced_full_collection_is_counted_and_timed():
    gc_policy.install_timer()
    assert gc_policy.install_timer() is False  # once a process
    count = _sample("yanxiu_gc_pause_seconds_count", "2")
    seconds = _sample("yanxiu_gc_pause_seconds_sum", "2")
    gc.collect()
    assert _sample("yanxiu_gc_pause_seconds_count", "2") == count + 1
    assert _sample("yanxiu_gc_pause_seconds_sum", "2") > seconds
    assert REGISTRY.get_sample_value("yanxiu_gc_pause_max_seconds", {"generation": "2"}) > 0
    gc.collect(0)
    assert _sample("yanxiu_gc_pause_seconds_count", "0") >= 1


def test_the_timer_keeps_the_longest_collection_per_generation():
    pauses = gc_policy.GcPauses()
    for started, ended in ((0.0, 0.2), (1.0, 1.05)):
        pauses._started = started
        with unittest.mock.patch.object(gc_policy.time, "perf_counter", return_value=ended):
            pauses("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
    assert pauses._longest == [0.0, pytest.approx(0.2), 0.0]


# A fresh interpreter: freezing and thresholds are the process's, not to be left in pytest's.
_APPLY_TWICE = """
import gc
from reference import gc_policy
from reference.metrics import GC_FROZEN
first = gc_policy.apply({name!r})
frozen = gc.get_freeze_count()
second = gc_policy.apply("python")
print(first, second, frozen, gc.get_freeze_count(), GC_FROZEN._value.get(), *gc.get_threshold())
"""


def _apply_twice(name: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _APPLY_TWICE.format(name=name)], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout.split()


def test_freeze_happens_once_per_process_and_raises_the_first_threshold():
    first, second, frozen, later, gauge, *thresholds = _apply_twice("freeze-young")
    assert (first, second) == ("True", "False")  # the second call, whatever its policy, does nothing
    assert int(frozen) > 10_000 and later == frozen  # the start-up's objects (imports), frozen once
    assert float(gauge) == int(frozen)
    assert thresholds == ["10000", "10", "10"]


def test_the_python_policy_leaves_the_collector_alone():
    first, _, frozen, _, gauge, *thresholds = _apply_twice("python")
    assert first == "True" and frozen == "0" and float(gauge) == 0
    assert tuple(map(int, thresholds)) == gc_policy.PYTHON_THRESHOLDS


def test_the_setting_names_the_policies_and_its_default():
    names = typing.get_args(Settings.model_fields["gc_policy"].annotation)
    assert set(names) == set(gc_policy.POLICIES)
    assert Settings().gc_policy == gc_policy.DEFAULT_POLICY
    assert Settings.from_env({"YANXIU_GC_POLICY": "freeze"}).gc_policy == "freeze"


def test_a_bad_policy_is_refused_in_one_line(capsys):
    with pytest.raises(SettingsError, match="^YANXIU_GC_POLICY: .*'freeze-young'.*'bogus'") as caught:
        Settings.from_env({"YANXIU_GC_POLICY": "bogus"})
    assert "\n" not in str(caught.value)

    from yanxiu.cli import main

    assert main(["serve", "--gc-policy", "bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--gc-policy:" in err and len(err.splitlines()) == 1
