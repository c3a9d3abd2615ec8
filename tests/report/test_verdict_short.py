"""The verdict says what a short platform does to teachers: sessions given up (the cascade), or,
when none was, that the shortfall is the service levels' margin, not service."""

from __future__ import annotations

import json
import shutil

from report.data import load
from report.i18n import Labels
from report.verdict import paragraph
from tests.report.test_cascade import CASCADE


def _short(model_results, tmp_path, cascade=None):
    folder = tmp_path / "smoke"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    api = summary["capacity"]["api"]
    api["needed"] = api["provided"] + 1  # one server short of the need
    summary["slo"]["api"]["max_utilisation"] = 0.913
    summary["slo"]["api"]["worst_minute_p95_ms"] = 137.0
    if cascade is not None:
        summary["cascade"] = cascade
    (folder / "summary.json").write_text(json.dumps(summary))
    return load(folder)


def test_short_without_a_lost_session_says_no_teacher_is_turned_away(model_results, tmp_path):
    data = _short(model_results, tmp_path)
    text = " ".join(paragraph(data, Labels("en")))
    assert "api is SHORT" in text
    assert "no teacher is turned away" in text and "api runs at 91.3%" in text and "p95 137 ms" in text
    patience = data.scenario.behaviour.overload.abandon_after_s
    assert f"patience ({patience:g} s)" in text
    zh = " ".join(paragraph(data, Labels("zh")))
    assert "没有教师被拒之门外" in zh and "api 利用率 91.3%" in zh


def test_short_with_lost_sessions_says_how_many(model_results, tmp_path):
    text = " ".join(paragraph(_short(model_results, tmp_path, CASCADE), Labels("en")))
    assert "54 study sessions were given up (53 teachers)" in text and "3.53 h later" in text
    assert "no teacher is turned away" not in text


def test_nothing_said_when_every_tier_holds(model_results):
    text = " ".join(paragraph(load(model_results), Labels("en")))
    assert "turned away" not in text and "given up" not in text

