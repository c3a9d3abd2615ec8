"""Route maps: a staging system's paths for the same endpoint names."""

from __future__ import annotations

import pytest

from loadtests.routes import DEFAULTS, RouteError, route_table


def test_defaults_scenario_then_file(tmp_path, smoke):
    path = tmp_path / "map.yaml"
    path.write_text("login: {method: POST, path: /sso/login}\ncampaign_page: /study/home\n"
                    "test_submit: {path: '/exam/{course_id}/answers'}\n")
    table = route_table(smoke.platform.endpoints, path)
    assert (table["login"].method, table["login"].path) == ("POST", "/sso/login")
    assert (table["campaign_page"].method, table["campaign_page"].path) == ("GET", "/study/home")
    assert table["test_submit"].url(course_id=3) == "/exam/3/answers"
    assert table["enrol"].path == DEFAULTS["enrol"][1]  # not in the file: the reference's


def test_json_route_map(tmp_path):
    path = tmp_path / "map.json"
    path.write_text('{"heartbeat": {"method": "PUT", "path": "/player/beat"}}')
    assert route_table((), path)["heartbeat"].method == "PUT"


@pytest.mark.parametrize("text, problem", [
    ("nonsense: /x", "unknown endpoint"),
    ("login: {method: FETCH, path: /x}", "method"),
    ("login: {path: x}", "must start with /"),
    ("login: {path: '/x/{user}'}", "placeholder"),
    ("- a\n- b", "mapping"),
    ("login: [", "not valid"),
])
def test_bad_route_map_names_file_and_entry(tmp_path, text, problem):
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(RouteError, match=problem) as err:
        route_table((), path)
    assert str(err.value).startswith("--route-map: ") and "\n" not in str(err.value)
