"""The report's overload section (report.cascade): there only when the run has a cascade, in words
and figures, in English and Chinese."""

from __future__ import annotations

import json
import shutil

import pytest

from report import html
from report.cascade import section
from report.data import load
from report.i18n import Labels

CASCADE = {
    "sessions": 10572.0, "sessions_lost": 54.0, "sessions_deferred": 50.0, "sessions_not_resumed": 4.0,
    "teachers_affected": 53.0, "mean_deferral_hours": 3.53, "deferred_study_hours": 26.0,
    "study_hours": 4700.0, "requests": 230000.0, "retried_requests": 1200.0, "retry_share": 1200 / 230000,
    "failed_requests": 2000.0, "sms_codes": 4000.0, "sms_resends": 300.0, "sms_refused": 0.0,
    "credit_delay_mean_minutes": 4.03, "credit_delay_p95_minutes": 9.68, "heartbeats": 196000.0,
    "heartbeats_lost": 0.0, "study_lost_hours": 0.0, "first_lost_at": "2023-01-05T19:41+08:00",
    "worst_minute": "2023-01-05T20:09+08:00", "worst_minute_lost": 3.0,
    "waiting_room": {"waited": 900.0, "mean_wait_minutes": 2.5, "longest_wait_minutes": 11.0, "left": 12.0,
                     "mean_queue": 0.4, "peak_queue": 61.7, "peak_queue_at": "2023-01-05T20:31+08:00",
                     "mean_position": 18.4, "p95_position": 52.0},
}


@pytest.fixture(scope="module")
def overloaded(model_results, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cascade") / "smoke"
    shutil.copytree(model_results, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["cascade"] = CASCADE
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_no_cascade_no_section(model_results):
    assert section(load(model_results), Labels("en")) is None


def test_the_section_says_what_happened_to_how_many_teachers_and_the_extra_load(overloaded):
    part = section(load(overloaded), Labels("en"))
    assert part is not None
    text = " ".join(part.paragraphs)
    assert "2023-01-05 19:41" in text and "2023-01-05 20:09" in text  # when
    assert "54 study sessions (0.5% of 10,572)" in text and "53 teachers" in text  # how many
    assert "10 seconds" in text  # the scenario's patience
    assert "50 of those sessions were made up later" in text and "3.53 hours" in text
    assert "26 hours" in text and "4 were not made up" in text  # deferred study
    assert "1,200 requests, 0.52% of all requests" in text and "300 SMS codes resent" in text
    assert "4.03 minutes" in text and "9.68 minutes" in text  # credit delay
    assert "queued 900 sessions for 2.5 minutes" in text and "12 teachers gave up" in text
    assert ("The queue was longest at 2023-01-05 20:31, with 62 teachers waiting; a teacher joining it "
            "found 18 people ahead on average, and one in twenty found more than 52.") in text
    rows = dict(part.table.rows)
    assert rows["Sessions lost"] == "54" and rows["Extra requests, share of all"] == "0.52%"
    assert rows["Longest queue in the waiting room (teachers)"] == "62"
    assert rows["People ahead on joining the queue, mean / p95"] == "18 / 52"
    page = html._section(part)
    assert page.startswith('<section id="cascade"><h2>When the platform could not keep up</h2>')


def test_the_section_names_the_tier_below_its_minimum_as_the_cause(overloaded, tmp_path):
    folder = tmp_path / "below"
    shutil.copytree(overloaded, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["capacity"]["api"].update(provided=45, minimum=57, needed=75)
    summary["cascade"]["sms_resends"] = 0.0
    (folder / "summary.json").write_text(json.dumps(summary))
    en = section(load(folder), Labels("en"))
    assert en is not None and en.paragraphs[0] == (
        "The cause: api had 45 servers, below the 57 servers it needs at the busiest minutes just to "
        "keep its latency targets (the plan with 25% headroom is 75 servers).")
    # no SMS code was resent: the extra load is the retries alone
    assert "Retries added 1,200 requests, 0.52% of all requests" in " ".join(en.paragraphs)
    assert "SMS codes resent" not in " ".join(en.paragraphs)
    zh = section(load(folder), Labels("zh"))
    assert zh is not None and zh.paragraphs[0].startswith("原因：api 现有 45 台服务器，低于最忙时段")
    # a tier at or above its minimum is not named: the section then starts with what happened
    plain = section(load(overloaded), Labels("en"))
    assert plain is not None and not plain.paragraphs[0].startswith("The cause")


def test_the_section_in_chinese(overloaded):
    part = section(load(overloaded), Labels("zh"))
    assert part is not None and part.heading == "平台不堪重负时发生了什么"
    text = "".join(part.paragraphs)
    assert "54 次学习会话" in text and "53 名教师受影响" in text and "重发短信 300 条" in text
    assert "另有 4 次在截止前没有补上" in text


def test_the_queue_is_said_in_chinese_and_left_out_for_an_older_summary(overloaded, tmp_path):
    zh = section(load(overloaded), Labels("zh"))
    assert zh is not None
    text = " ".join(zh.paragraphs)
    assert "队伍在 2023-01-05 20:31 最长，有 62 名教师在排队；教师进入等候室时前面平均有 18 人" in text
    folder = tmp_path / "older"  # a summary written before the queue was recorded
    shutil.copytree(overloaded, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["cascade"]["waiting_room"] = CASCADE["waiting_room"] | {
        "peak_queue_at": None, "mean_position": None, "p95_position": None}
    (folder / "summary.json").write_text(json.dumps(summary))
    en = section(load(folder), Labels("en"))
    assert en is not None and "queued 900 sessions" in " ".join(en.paragraphs)
    assert "The queue was longest" not in " ".join(en.paragraphs)
    assert "Longest queue in the waiting room (teachers)" not in dict(en.table.rows)
