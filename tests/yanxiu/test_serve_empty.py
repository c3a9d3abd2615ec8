"""``yanxiu serve`` on an empty database says how to fill it (uvicorn replaced: no server starts)."""

from __future__ import annotations

import pytest

from tests.conftest import SMOKE
from yanxiu.cli import main


@pytest.fixture
def no_server(monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    return started


def test_an_empty_database_points_to_yanxiu_seed(tmp_path, capsys, no_server):
    url = f"sqlite:///{tmp_path}/empty.db"
    assert main(["serve", "--scenario", str(SMOKE), "--database-url", url]) == 0
    assert no_server, "the server would have started"
    err = capsys.readouterr().err
    assert "no teachers or schools yet" in err and "yanxiu seed --teachers" in err


def test_a_seeded_database_says_nothing_of_the_kind(tmp_path, capsys, no_server):
    url = f"sqlite:///{tmp_path}/seeded.db"
    assert main(["seed", "--teachers", "20", "--scenario", str(SMOKE), "--database-url", url,
                 "--out", str(tmp_path / "fixtures")]) == 0
    capsys.readouterr()
    assert main(["serve", "--scenario", str(SMOKE), "--database-url", url]) == 0
    assert "yanxiu seed" not in capsys.readouterr().err
