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


def test_reread_serves_the_spreads_read_below_the_knee_from_the_calibration_s_rows(tmp_path, monkeypatch):
    """A platform written with the spreads off (named only) is re-read from its ``.json``'s rows as
    ``calibrate`` reads them now: the writer lognormal and the sign-ins' hold_scv from the steps
    under half the 250/s knee (0-3 of six steps at 10-200/s; step 4's long holds left out), the
    holds' means over all; ``extends`` made absolute; the file loads."""
    import json

    import numpy as np

    from bench.bench_lock_waits import reread
    from calibrate import spread, writer
    from calibrate.fit import Row
    from calibrate.platform_file import render, write
    from calibrate.probes import parse_metrics
    from tests.calibrate.test_platform_file import PROVENANCE
    from tests.calibrate.test_spread import _metrics, sqlite_lines
    from tests.calibrate.test_writer import _rows

    short, long = (parse_metrics(_metrics(*c)).buckets for c in (((10, 40, 60, 70, 80), (30, 60, 90, 100)),
                                                                 ((0, 0, 10, 20, 80), (0, 10, 20, 100))))
    rows = []
    for i, r in enumerate(_rows(np.random.default_rng(3))):
        extra = spread.bucket_counts({}, long if r.step == 4 else short) | {
            "(hold_s login)": 0.2 if r.step < 4 else 1.0, "(holds login)": 80.0} if i % 10 == 0 else {}
        rows.append(Row(r.step, r.seconds, r.requests | extra, r.busy_s))
    monkeypatch.setattr(writer, "WRITE_SPREADS", False)
    line = sqlite_lines(rows)
    knee = {"rate_rps": 250.0, "slo_p95_ms": 300.0, "step": "s5"}
    provenance = PROVENANCE | {"rows": [r.__dict__ for r in rows], "knee": knee, "left_out_of_fit": [],
                               "step_results": [{"name": f"s{i}"} for i in range(6)]}
    old = tmp_path / "cal" / "platform.yaml"
    old.parent.mkdir()
    write(old, render(load_scenario(SMOKE), SMOKE, old, line, {}, provenance), provenance, force=False)
    monkeypatch.setattr(writer, "WRITE_SPREADS", True)
    new = tmp_path / "new" / "platform.yaml"
    reread(old, new)
    assert "extends: /" in new.read_text()
    tier = load_scenario(new).platform.tier("database")
    below = [r for r in rows if r.step < 4]
    expected = writer.route_holds(rows, below)
    assert expected is not None and tier.route_holds is not None
    kept = tier.route_holds
    assert (kept.hold_scv, kept.hold_ms) == (expected["hold_scv"], expected["hold_ms"])
    assert tier.route_holds.hold_scv != writer.route_holds(rows)["hold_scv"]  # type: ignore[index]
    assert tier.service.scv == writer.commit_service(below)["scv"]  # type: ignore[union-attr,index]
    side = json.loads(new.with_suffix(".json").read_text())
    assert side["writer"]["route_holds"]["hold_scv"] == expected["hold_scv"]
