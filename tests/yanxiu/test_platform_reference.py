"""``yanxiu serve``, ``seed`` and ``certificates`` on a platform scenario: every campaign's
tables and question bank, each campaign's certificate batch when it is due, one-line
refusals (uvicorn replaced: no server starts)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from yanxiu.cli import main

PLATFORM = ROOT / "scenarios" / "platform-winter-2023.yaml"
CAMPAIGNS = ("winter-2023", "exempt-2023", "students")


@pytest.fixture
def no_server(monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    return started


def _questions(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from reference.db import Database
    from reference.models import Question

    db = Database(url)
    with db.session(write=False) as session:
        query = select(Question.campaign, func.count()).group_by(Question.campaign)
        counts = dict(session.execute(query).all())
    db.dispose()
    return counts


def test_serve_and_seed_take_a_platform_scenario(tmp_path, capsys, no_server):
    url = f"sqlite:///{tmp_path}/platform.db"
    assert main(["seed", "--teachers", "20", "--scenario", str(PLATFORM), "--database-url", url,
                 "--out", str(tmp_path / "fixtures")]) == 0
    counts = _questions(url)
    assert set(counts) == set(CAMPAIGNS) and all(counts.values())
    answers = json.loads((tmp_path / "fixtures" / "answers.json").read_text())
    assert len(answers) == sum(counts.values())  # every campaign's tests can be passed
    capsys.readouterr()
    assert main(["serve", "--scenario", str(PLATFORM), "--database-url", url]) == 0
    assert no_server and ", ".join(CAMPAIGNS) in capsys.readouterr().out


def test_each_campaign_gets_its_certificate_batch_when_due(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/platform.db"
    base = ["certificates", "--scenario", str(PLATFORM), "--database-url", url]
    assert main([*base, "--now", "2023-03-20T09:00"]) == 0
    assert [line.split(":")[1].strip() for line in capsys.readouterr().out.splitlines()] == ["winter-2023"]
    assert main([*base, "--now", "2023-04-20T09:00"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main([*base, "--now", "2023-04-20T09:00", "--campaign", "students"]) == 0
    assert "students" in capsys.readouterr().out


@pytest.mark.parametrize("extra, where", [
    (["certificates", "--now", "2023-01-20T09:00"], "--now"),  # no campaign due yet
    (["certificates", "--campaign", "nope"], "--campaign"),
    (["seed", "--teachers", "5", "--progress-at", "2023-02-01T00:00"], "--progress-at"),
])
def test_refusals_are_one_line(tmp_path, capsys, extra, where):
    args = [*extra, "--scenario", str(PLATFORM), "--database-url", f"sqlite:///{tmp_path}/p.db"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and where in err
