"""The verdict says what a short platform does to teachers: sessions given up (the cascade), or,
when none was, that the shortfall is the service levels' margin, not service; it names the
minimum that keeps the latency targets beside the plan with headroom."""

from __future__ import annotations

import json
import shutil

from report.data import load
from report.i18n import Labels
from report.verdict import paragraph
from tests.report.test_cascade import CASCADE


def _short(model_results, tmp_path, cascade=None, minimum=None):
    folder = tmp_path / "smoke"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    api = summary["capacity"]["api"]
    api["needed"] = api["provided"] + 1  # one server short of the need
    api["minimum"] = api["provided"] - 1 if minimum is None else minimum
    summary["slo"]["api"]["max_utilisation"] = 0.913
    summary["slo"]["api"]["worst_minute_p95_ms"] = 137.0
    if cascade is not None:
        summary["cascade"] = cascade
    (folder / "summary.json").write_text(json.dumps(summary))
    return load(folder)


def test_short_without_a_lost_session_says_no_teacher_is_turned_away(model_results, tmp_path):
    data = _short(model_results, tmp_path)
    text = " ".join(paragraph(data, Labels("en")))
    assert ("api is SHORT of headroom: it keeps its latency targets down to 3 servers and has 4 servers, "
            "but the plan with 25% headroom is 5 servers.") in text
    assert "no teacher is turned away" in text and "api runs at 91.3%" in text and "p95 137 ms" in text
    patience = data.scenario.behaviour.overload.abandon_after_s
    assert f"patience ({patience:g} s)" in text
    zh = " ".join(paragraph(data, Labels("zh")))
    assert "没有教师被拒之门外" in zh and "api 利用率 91.3%" in zh
    assert "api 余量不足：它最少需要 3 台服务器即可保持延迟目标，现有 4 台服务器" in zh


def test_below_the_minimum_without_a_lost_session_says_teachers_wait_but_none_gives_up(model_results,
                                                                                    tmp_path):
    data = _short(model_results, tmp_path, minimum=6)
    text = " ".join(paragraph(data, Labels("en")))
    assert ("api is SHORT: it keeps its latency targets down to 6 servers, and has only 4 servers; "
            "the plan with 25% headroom is 5 servers.") in text
    assert "wait past their latency targets (api runs at 91.3%" in text and "nobody gives up" in text
    assert "safety margin" not in text
    zh = " ".join(paragraph(data, Labels("zh")))
    assert "api 容量不足：它最少需要 6 台服务器才能保持延迟目标，现有仅 4 台服务器" in zh
    assert "没有人放弃" in zh


def test_short_with_lost_sessions_says_how_many(model_results, tmp_path):
    text = " ".join(paragraph(_short(model_results, tmp_path, CASCADE), Labels("en")))
    assert "54 study sessions were given up (53 teachers)" in text and "3.53 h later" in text
    assert "no teacher is turned away" not in text


def test_nothing_said_when_every_tier_holds(model_results):
    text = " ".join(paragraph(load(model_results), Labels("en")))
    assert "turned away" not in text and "given up" not in text



def test_capacity_table_shows_the_minimum_beside_the_plan_and_which_one_is_missed(model_results, tmp_path):
    from report.headline import capacity_table

    for minimum, state in ((3, "short of headroom"), (6, "SHORT: below the minimum")):
        folder = tmp_path / str(minimum)
        folder.mkdir()
        table = capacity_table(_short(model_results, folder, minimum=minimum), Labels("en"))
        assert table is not None and table.header[1:4] == ["Minimum (keeps latency targets)",
                                                           "Plan (with headroom)", "Provided"]
        api = next(i for i, row in enumerate(table.rows) if row[0] == "api")
        assert table.rows[api][1:4] == [f"{minimum} servers", "5 servers", "4 servers"]
        assert table.rows[api][-1] == state and api in table.bad_rows
        assert all(row[-1] == "enough" for row in table.rows if row[0] != "api")


def test_a_what_if_run_says_what_was_resized_and_of_which_need(model_results, tmp_path):
    folder = tmp_path / "what-if"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["what_if"] = {
        "api": {"asked": "80%min", "size": 45, "scenario_size": 3200, "share_of": "min", "base": 56},
        "database": {"asked": "80%", "size": 22, "scenario_size": 640, "share_of": "need", "base": 27},
        "video_cdn": {"asked": "900", "size": 900, "scenario_size": 3000}}
    (folder / "summary.json").write_text(json.dumps(summary))
    text = " ".join(paragraph(load(folder), Labels("en")))
    assert ("This is a what-if, not the platform the scenario describes: api at 45 servers, 80% of the 56 "
            "servers that keep its latency targets (measured in a run with the scenario's 3,200 servers), "
            "database at 22 servers, 80% of its plan with headroom, 27 servers (measured in a run with the "
            "scenario's 640 servers), video_cdn at 900 Gbps instead of 3,000 Gbps. The needs named below "
            "are this run's own, measured on its load, which the retries and the teachers coming back "
            "later raise.") in text
    zh = " ".join(paragraph(load(folder), Labels("zh")))
    assert "本次为假设情景" in zh
    assert "api 设为 45 台服务器，即保持延迟目标所需最低容量 56 台服务器的 80%" in zh
    assert " ".join(paragraph(load(model_results), Labels("en"))).count("what-if") == 0
    summary["what_if"] = {"api": {"asked": "3", "size": 3, "scenario_size": 4}}
    (folder / "summary.json").write_text(json.dumps(summary))
    text = " ".join(paragraph(load(folder), Labels("en")))
    assert "api at 3 servers instead of 4 servers." in text and "this run's own" not in text


def test_missed_minutes_of_slow_requests_name_the_endpoint(model_results, tmp_path):
    """A tier that misses its latency target at low utilisation: the verdict says which requests
    the missed minutes are, with the scenario's demand, and how many requests met the target."""
    folder = tmp_path / "smoke"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    database = summary["slo"]["database"]
    database.update(compliant=False, compliant_minutes_share=0.568, compliant_requests_share=0.962,
                    max_utilisation=0.031, missed_minutes_endpoint="admin_progress",
                    missed_minutes_endpoint_share=0.87)
    (folder / "summary.json").write_text(json.dumps(summary))
    data = load(folder)
    endpoints = data.scenario.platform.endpoints
    demand = next(e.demand_ms["database"] for e in endpoints if e.name == "admin_progress")
    text = " ".join(paragraph(data, Labels("en")))
    assert "database MISSES its service level" in text
    assert (f"They are mostly admin_progress requests (87% of the tier's requests in those minutes, "
            f"{demand:g} ms each as the scenario has it); 96.2% of all its requests fell in minutes "
            "within target.") in text
    assert "主要是 admin_progress" in " ".join(paragraph(data, Labels("zh")))
