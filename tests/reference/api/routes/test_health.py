from __future__ import annotations


def test_health_hello_and_openapi(client):
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/hello").json() == {"hello": "world"}
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/progress/heartbeat" in paths and "/api/v1/admin/progress" in paths


def test_metrics_count_requests_per_endpoint(client, platform):
    teacher = platform.enrolled_teacher()

    def count() -> float:
        text = client.get("/metrics").text
        for line in text.splitlines():
            if line.startswith(
                'yanxiu_requests_total{endpoint="heartbeat",method="POST",status="200"}'
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count()
    for seq in range(3):
        platform.beat(teacher, "1.1", seq, 0)
    assert count() == before + 3
    assert 'yanxiu_request_seconds_bucket{endpoint="heartbeat"' in client.get("/metrics").text


def test_metrics_show_the_group_commits(client, platform):
    teacher = platform.enrolled_teacher()

    def commits() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("yanxiu_commit_jobs_count "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = commits()
    for seq in range(3):  # one at a time: three commits
        platform.beat(teacher, "1.2", seq, 0)
    assert commits() == before + 3
    assert "yanxiu_commit_seconds_bucket" in client.get("/metrics").text


def test_unknown_paths_and_methods_are_4xx_json(client):
    assert client.get("/api/v1/nowhere").status_code == 404
    answer = client.put("/api/v1/campaign")
    assert answer.status_code == 405 and answer.json()["detail"]
    broken = client.post(
        "/api/v1/sms/send", content="{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422


def test_health_is_503_with_retry_after_when_the_database_is_down(client, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(app.state.yanxiu.db, "ping", down)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json()["detail"] == "database unreachable"
