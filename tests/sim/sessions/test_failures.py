"""The scenario's failure modes (domain.failures, sim.sessions.failures) change what the model
does, not just what it parses: each is compared with the same campaign without it."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from domain.failures import Failures
from domain.scenario import ScenarioError, parse_scenario
from sim.model import run_model
from sim.outputs.cascade import cascade
from sim.outputs.writer import minute_labels
from sim.sessions.recorder import TALLY
from tests.conftest import SMOKE

TEACHERS, SEED = 1500, 11


def _smoke(failures: dict | None = None, starved_sms: bool = False):
    """Smoke, five days (as tests/sim/sessions/test_behaviour.py); a starved SMS gateway."""
    data = yaml.safe_load(SMOKE.read_text())
    data["calendar"]["end"] = "2023-01-08T00:00:00"
    data["behaviour"]["overload"]["sms_resend_after_s"] = 10 if starved_sms else 60
    if starved_sms:
        for tier in data["platform"]["tiers"]:
            if tier["name"] == "sms_gateway":
                tier["servers"] = 1
        for endpoint in data["platform"]["endpoints"]:
            if endpoint["name"] == "sms_send":
                endpoint["demand_ms"]["sms_gateway"] = 6_000
    if failures is not None:
        data["failures"] = failures
    return parse_scenario(data, "smoke-failures")


def _run(failures: dict | None = None, starved_sms: bool = False):
    return run_model(_smoke(failures, starved_sms), teachers=TEACHERS, seed=SEED)


def parse_failures(data: dict) -> Failures:
    return Failures.model_validate(data)


def _tally(run) -> dict[str, float]:
    return dict(zip(TALLY, run.recorder.tally, strict=True))


def _cascade(run) -> dict | None:
    return cascade(run, minute_labels(run))


@pytest.fixture(scope="module")
def base():
    return _run()


def test_without_failures_nothing_cascades_and_the_section_is_optional(base):
    assert _cascade(base) is None
    t = _tally(base)
    assert t["heartbeats"] > 0 and t["heartbeats_lost"] == 0 and t["study_s"] > 0


def test_bad_failure_options_are_one_line_naming_the_field():
    with pytest.raises(ScenarioError, match=r"failures\.heartbeats\.loss"):
        _smoke({"heartbeats": {"loss": 1.5}})
    with pytest.raises(ScenarioError, match=r"failures\.maintenance\[0\].*outside the window"):
        _smoke({"maintenance": [{"start": "2023-02-01T01:00:00", "end": "2023-02-01T02:00:00"}]})
    with pytest.raises(ScenarioError, match=r"failures\.waiting_room\.leave_after_minutes"):
        _smoke({"waiting_room": {"admit_utilisation": 0.9}})


def test_a_waiting_room_queues_sessions_instead_of_failing_their_requests(smoke):
    """Smoke's video tier 15% below the evening peak: without a room, stalled videos lose
    sessions; with one, new sessions queue while the tier is above 90% and fewer are lost."""
    from sim.capacity import with_capacity

    room = {"admit_utilisation": 0.9, "leave_after_minutes": {"kind": "deterministic", "value": 15}}
    short = with_capacity(smoke, {"video_cdn": 0.165})  # the peak is ~0.194 Gbps at 2,000 teachers
    queued_scenario = short.model_copy(update={"failures": parse_failures({"waiting_room": room})})
    failing, queued = (run_model(s, 2000, 7, 2000) for s in (short, queued_scenario))
    lost = [float(r.recorder.daily["sessions_lost"].sum()) for r in (failing, queued)]
    c = _cascade(queued)
    assert c is not None and c["waiting_room"]["waited"] > 0
    assert c["waiting_room"]["longest_wait_minutes"] > 0
    assert 0 <= lost[1] < 0.5 * lost[0]


def test_a_maintenance_window_shuts_the_platform_and_defers_sessions(base):
    window = {"maintenance": [{"name": "upgrade", "start": "2023-01-05T19:00:00",
                               "end": "2023-01-05T23:00:00"}]}
    shut = _run(window)
    t = _tally(shut)
    assert t["maintenance_deferred"] > 0 and t["maintenance_cut"] > 0
    start = shut.profile.closures[0][0] / 60.0
    minutes = slice(int(start), int(start) + 240)
    assert shut.recorder.counts[:, minutes].sum() == 0  # no request reaches a shut platform
    assert base.recorder.counts[:, minutes].sum() > 0
    assert _cascade(shut)["maintenance_deferred"] == t["maintenance_deferred"]


def test_lost_heartbeats_delay_credit_or_lose_study(base):
    late = _run({"heartbeats": {"loss": 0.2}})
    lost = _run({"heartbeats": {"loss": 0.2, "lost_study": "lost"}})
    b, t_late, t_lost = _tally(base), _tally(late), _tally(lost)
    # riding on the next beat: the same study, credited later
    assert t_late["heartbeats_lost"] > 0 and t_late["study_lost_s"] == 0
    assert np.array_equal(late.recorder.counts, base.recorder.counts)
    assert t_late["lag_s"] / t_late["study_s"] > 1.1 * b["lag_s"] / b["study_s"]
    # lost with their beat: study is never credited and teachers study longer for the same credit
    assert t_lost["study_lost_s"] > 0
    assert lost.recorder.daily["sessions"].sum() > base.recorder.daily["sessions"].sum()


def test_a_credit_delay_shows_in_the_lag_and_holds_tests_back(base):
    delayed = _run({"heartbeats": {"credit_delay_minutes": {"kind": "deterministic", "value": 45}}})
    c = _cascade(delayed)
    assert c is not None and c["credit_delay_mean_minutes"] >= 45
    done = [np.median(r.completed_at[np.isfinite(r.completed_at)]) for r in (base, delayed)]
    assert done[1] > done[0] + 45 * 60  # the test waits for the credit to show


def test_sms_delivery_delay_makes_resends_and_per_phone_limits_refuse_them(base):
    slow = {"sms": {"delivery_delay_s": {"kind": "deterministic", "value": 90}}}
    resent = _run(slow)
    limited = _run({"sms": {**slow["sms"], "per_phone_per_hour": 2}})
    assert _tally(base)["sms_resends"] == 0
    assert _tally(resent)["sms_resends"] > 0 and _tally(resent)["sms_refused"] == 0
    assert _tally(limited)["sms_refused"] > 0
    assert limited.recorder.daily["sessions_lost"].sum() > 0  # no code, no sign-in


def test_unattended_playback_runs_longer_unless_an_attention_check_stops_it(base):
    muted = _run({"playback": {"unattended_share": 0.5}})
    checked = _run({"playback": {"unattended_share": 0.5, "attention_check_minutes": 5}})
    assert _tally(muted)["unattended_s"] > _tally(checked)["unattended_s"] > 0
    assert muted.recorder.daily["sessions"].sum() < base.recorder.daily["sessions"].sum()


def test_scripted_clients_claim_study_fast_without_server_checks(base):
    fast = _run({"scripted": {"share": 0.5, "speedup": 20}})
    checked = _run({"scripted": {"share": 0.5, "speedup": 20, "server_checks": True}})
    for run in (fast, checked):
        assert _tally(run)["scripted_claimed_s"] > 0
        assert run.recorder.spans["egress_kbps"].sum() < 0.8 * base.recorder.spans["egress_kbps"].sum()
    beat = base.recorder.index["heartbeat"]
    peaks = [r.recorder.counts[beat].max() for r in (fast, checked)]
    assert peaks[0] > 2 * peaks[1]  # twenty times the beats while a script runs
    session_s = [r.recorder.session_seconds for r in (fast, checked)]
    assert session_s[0] < session_s[1]  # hours claimed in minutes
