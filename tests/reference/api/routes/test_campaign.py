from __future__ import annotations


def study(platform, clock, teacher, resource, seconds, step=600):
    """Study ``resource``'s course for ``seconds`` of server time in beats of ``step``, as an
    honest player: its resources in order, each to its end (a resource alone earns at most
    the rules' multiple of its length)."""
    course = platform.state.catalogue.resources[resource].course_id
    platform.study(clock, teacher, course, seconds, step)


def test_enrol_once(client, platform):
    teacher = platform.register(platform.school())
    first = client.post("/api/v1/campaigns/smoke/enrol", headers=teacher["headers"])
    again = client.post("/api/v1/campaigns/smoke/enrol", headers=teacher["headers"])
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert (
        client.post("/api/v1/campaigns/winter-2023/enrol", headers=teacher["headers"]).status_code
        == 404
    )


def test_page_shows_studied_and_credited(client, platform, clock):
    teacher = platform.enrolled_teacher()
    before = client.get("/api/v1/campaign", headers=teacher["headers"]).json()
    assert before["enrolled"] and before["studied_hours"] == 0
    assert [c["open"] for c in before["courses"]] == [True, False]
    study(platform, clock, teacher, "1.1", 1800)
    page = client.get("/api/v1/campaign", headers=teacher["headers"]).json()
    course = page["courses"][0]
    assert course["studied_s"] == 1800 and course["credited_hours"] == 0
    assert course["resources"][0] == {
        "id": "1.1",
        "title": "Recognising security problems",
        "duration_s": 910.0,
        "watched_s": 910.0,  # played to its end; the other 890 s went to 1.2 and 2
        "percent": 100.0,
    }
    assert [r["watched_s"] for r in course["resources"][1:]] == [598.0, 292.0, 0.0]
    assert course["test"] == {"unlocked": False, "passed": False, "attempts": 0}
    assert page["studied_hours"] == 0.5 and page["credited_hours"] == 0


def test_page_for_a_teacher_not_enrolled(client, platform):
    teacher = platform.register(platform.school())
    page = client.get("/api/v1/campaign", headers=teacher["headers"]).json()
    assert not page["enrolled"] and page["campaign"] == "smoke"
