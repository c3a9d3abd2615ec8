"""``yanxiu run`` on a workload scenario prints its figures beside the theory, not only a path."""

from __future__ import annotations

from pathlib import Path

import yaml

from yanxiu.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_workload_run_prints_mean_wait_ci_and_theory(tmp_path, capsys):
    data = yaml.safe_load((SCENARIOS / "mg1-hyperexp-scv4-rho70.yaml").read_text())
    data["workload"].update(duration_s=600, warmup_s=50, replications=4)
    scenario = tmp_path / "short.yaml"
    scenario.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert main(["run", str(scenario), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    wait = next(line for line in out.splitlines() if "mean wait" in line)
    # measured [CI] / theory (P-K: 583.3 ms), error
    assert "[" in wait and "/ 583.3 ms" in wait and "%" in wait
    assert "utilisation" in out and "p95 response" in out
