"""bench/bench_lock_waits.py: the "before" platform drops the lock's spreads and retries only, and the
server's wait is read from a level's /metrics text."""

from __future__ import annotations

from bench.bench_lock_waits import main, server_wait_ms, without_spreads
from domain.platform_spec import RouteHolds
from domain.scenario import load_scenario
from tests.conftest import SMOKE

LOGNORMAL = {"kind": "lognormal", "scv": 3.0}


def test_before_drops_the_spreads_and_retries_only(tmp_path):
    scenario = load_scenario(SMOKE)
    holds = RouteHolds(hold_ms={"login": 3.0}, hold_scv={"login": 2.0}, retry_ms=1.6)
    spread = {"discipline": "group-commit", "route_holds": holds, "service": LOGNORMAL}
    tiers = [t.model_copy(update=spread) if t.name == "database" else t for t in scenario.platform.tiers]
    after = scenario.model_copy(update={"platform": scenario.platform.model_copy(update={"tiers": tiers})})
    tier = without_spreads(after).platform.tier("database")
    assert tier.service == "exponential" and tier.route_holds is not None
    kept = tier.route_holds
    assert (kept.hold_ms, kept.hold_scv, kept.retry_ms) == ({"login": 3.0}, {}, 0.0)
    waits = (("none", 0.5, 900), ("route", 1.5, 100))
    lines = [f'yanxiu_commit_wait_seconds_{part}{{behind="{who}"}} {value}'
             for who, s, n in waits for part, value in (("sum", s), ("count", n))]
    (tmp_path / "metrics-end.txt").write_text("\n".join(lines) + "\n")
    assert server_wait_ms(tmp_path) == 2.0  # (0.5 + 1.5) s over 1,000 jobs


def test_a_platform_or_a_level_folder_that_is_not_one_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["bench_lock_waits", "--platform", str(tmp_path / "absent.yaml"),
                                     str(tmp_path)])
    assert main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--platform" in err and "absent.yaml" in err
    monkeypatch.setattr("sys.argv", ["bench_lock_waits", "--platform", str(SMOKE), str(tmp_path / "level")])
    assert main() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a bench_calibrate level folder" in err
