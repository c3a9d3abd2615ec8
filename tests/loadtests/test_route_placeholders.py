"""Route maps: placeholders are checked per endpoint against what the journeys fill in,
refused in one line when the file is loaded, and filled at run time."""

from __future__ import annotations

import pytest

from loadtests.routes import FILLED, RouteError, route_table
from tests.loadtests.conftest import SMOKE, read_summary, start_stub, write_series
from tests.loadtests.test_broken_runs import yanxiu

FILLED_MAP = """\
login: {method: POST, path: /uc/v1/tokens}
campaign_page: "/home/{campaign}/{teacher_id}"
heartbeat: {method: PUT, path: "/positions/{course_id}/{resource_id}/{user_id}"}
test_fetch: "/exam/{user_id}/{course_id}"
"""


@pytest.mark.parametrize("entry, placeholder", [
    ("campaign_page: '/x/{course_id}'", "{course_id}"),  # no course on the campaign page
    ("login: '/u/{teacher_id}/login'", "{teacher_id}"),  # not signed in yet
    ("heartbeat: '/beat/{session_id}'", "{session_id}"),  # never known
    ("admin_progress: '/schools/{resource_id}'", "{resource_id}"),
])
def test_unfilled_placeholder_is_refused_when_loaded(tmp_path, entry, placeholder):
    path = tmp_path / "map.yaml"
    path.write_text(entry + "\n")
    with pytest.raises(RouteError) as err:
        route_table((), path)
    message = str(err.value)
    assert message.startswith(f"--route-map: {path}: {entry.split(':')[0]}: ") and "\n" not in message
    assert f"placeholder {placeholder} is not filled for this endpoint" in message


def test_documented_placeholders_load_and_fill(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text(FILLED_MAP)
    table = route_table((), path)
    assert table["heartbeat"].placeholders == {"course_id", "resource_id", "user_id"}
    assert table["heartbeat"].url(course_id=2, resource_id="2.1", user_id="u-9") == "/positions/2/2.1/u-9"
    assert {"teacher_id", "user_id", "campaign"} <= FILLED["campaign_page"]
    assert FILLED["login"] == {"campaign"}


def test_unfilled_placeholder_is_exit_2_before_locust_starts(tmp_path):
    model = write_series(tmp_path / "model", [5.0] * 6)
    path = tmp_path / "map.yaml"
    path.write_text("heartbeat: '/player/{teacher_id}/{course}'\n")
    done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--route-map", str(path),
                  "--out", str(tmp_path / "run"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"yanxiu loadtest: error: --route-map: {path}: heartbeat: path '/player/{{teacher_id}}/{{course}}': "
        "placeholder {course} is not filled for this endpoint (filled here: {campaign}, {course_id}, "
        "{resource_id}, {teacher_id}, {user_id})"]
    assert not (tmp_path / "run").exists()  # refused before anything ran


@pytest.mark.slow
def test_placeholders_are_filled_at_run_time(tmp_path, accounts):
    """Against a target that knows only the mapped paths: no exception, no unknown path."""
    route_map = tmp_path / "map.yaml"
    route_map.write_text(FILLED_MAP)
    stub = start_stub(tmp_path, "--route-map", str(route_map))
    model = write_series(tmp_path / "model", [20.0] * 24)
    out = tmp_path / "run"
    try:
        done = yanxiu("loadtest", str(SMOKE), "--model-results", str(model), "--stretch", "window",
                      "--compress", "360", "--scale", "1", "--host", stub.url, "--route-map", str(route_map),
                      "--accounts", str(accounts), "--answers", str(stub.answers), "--out", str(out))
        received = stub.counts()
    finally:
        stub.process.terminate()
        stub.process.wait(10)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = read_summary(out)
    assert summary["trustworthy"] and summary["exceptions"]["count"] == 0
    assert "unknown" not in received
    for name in ("login", "campaign_page", "heartbeat", "test_fetch"):
        # sessions cut at the end may have sent a request whose answer Locust never saw
        assert received[name] >= summary["endpoints"][name]["requests"] > 0, name
