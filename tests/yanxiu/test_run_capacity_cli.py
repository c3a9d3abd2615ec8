"""yanxiu run --capacity: a bad value is one line naming it, exit code 2."""

from __future__ import annotations

from tests.conftest import SMOKE
from yanxiu.cli import main


def test_a_bad_capacity_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["run", str(SMOKE), "--capacity", "web=3", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no tier 'web'" in err[0]
