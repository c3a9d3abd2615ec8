from __future__ import annotations

SEARCH = "/api/v1/schools"


def test_keyword_region_and_temporary_unit(client, platform):
    platform.school("Taiyuan No. 5 Middle School")
    platform.school("Taiyuan Experimental Primary", county="Yingze")
    platform.school("Haikou No. 1 Middle School", province="Hainan", county="Meilan")
    found = client.get(
        SEARCH, params={"q": "Taiyuan", "sub_platform": "basic", "province": "Shanxi"}
    ).json()
    names = [s["name"] for s in found["schools"]]
    assert names[:2] == ["Taiyuan No. 5 Middle School", "Taiyuan Experimental Primary"]
    assert found["schools"][-1]["temporary"] and found["schools"][-1]["province"] == "Shanxi"
    assert found["redirect"] is None
    hainan = client.get(
        SEARCH, params={"q": "Middle", "sub_platform": "basic", "province": "Hainan"}
    ).json()
    assert [s["name"] for s in hainan["schools"] if not s["temporary"]] == [
        "Haikou No. 1 Middle School"
    ]


def test_no_match_still_offers_the_temporary_unit(client):
    found = client.get(
        SEARCH, params={"q": "nowhere", "sub_platform": "vocational", "province": "Hainan"}
    ).json()
    assert len(found["schools"]) == 1 and found["schools"][0]["temporary"]
    assert found["schools"][0]["sub_platform"] == "vocational"


def test_school_of_another_sub_platform_redirects(client, platform):
    platform.school("Shanxi University", sub_platform="higher")
    found = client.get(SEARCH, params={"q": "Shanxi University", "sub_platform": "basic"}).json()
    assert found["schools"] == []
    assert found["redirect"]["sub_platform"] == "higher"
    assert "Shanxi University" in found["redirect"]["message"]


def test_wildcards_are_literal(client, platform):
    platform.school("Taiyuan No. 5 Middle School")
    found = client.get(SEARCH, params={"q": "%", "sub_platform": "basic"}).json()
    assert found["schools"] == []


def test_bad_queries(client):
    assert client.get(SEARCH, params={"q": "x"}).status_code == 422  # sub_platform missing
    assert client.get(SEARCH, params={"sub_platform": "primary"}).status_code == 422
    assert client.get(SEARCH, params={"sub_platform": "basic", "limit": 0}).status_code == 422
    assert client.get(SEARCH, params={"sub_platform": "basic", "limit": 10**30}).status_code == 422
    assert client.get(SEARCH, params={"sub_platform": "basic", "q": "a" * 51}).status_code == 422
    assert client.get(SEARCH, params={"sub_platform": "basic", "q": "a\x00b"}).status_code == 422
