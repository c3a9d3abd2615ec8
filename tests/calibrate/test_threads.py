"""The split of a sync request's CPU for the worker model (calibrate/threads.py): the routes'
hops and hashes as FastAPI serves them, and the probe's figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibrate.threads import Probe, probe, routes, worker_threads
from domain.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_routes_sync_hops_and_hashes_as_fastapi_serves_them():
    """The campaign page: its read session entered and exited (2), the token check (1), the
    route (1), its answer's validation (1): 5 hops, as counted in process by wrapping
    anyio.to_thread.run_sync (docs/calibration.md); the sign-in hashes once; the heartbeat is
    async (no hop)."""
    served = {name: route for name, route in routes().values()}
    assert served["campaign_page"].sync and served["campaign_page"].hops == 5
    assert served["login"].hashes == 1 and served["login"].hops == 4
    assert served["register"].hashes == 1
    assert not served["heartbeat"].sync and served["heartbeat"].hops == 0
    assert served["test_fetch"].hashes == 0


def test_the_probe_measures_a_hop_and_a_hash_that_releases_the_gil():
    found = probe(hops=100, hashes=2)
    assert 0.001 < found.hop_ms < 5.0
    assert 2.0 < found.hash_ms < 500.0
    assert found.hash_releases_gil


def test_the_tier_entry_names_the_sync_endpoints_with_their_parts():
    scenario = load_scenario(SCENARIOS / "smoke.yaml")
    entry = worker_threads(scenario.platform.endpoints, None, Probe(0.1, 30.0, True, 0.9))
    assert entry["slots"] >= 1
    assert "heartbeat" not in entry["sync"]
    assert entry["sync"]["login"] == {"loop_ms": pytest.approx(0.4), "free_ms": pytest.approx(30.0)}
    assert entry["sync"]["campaign_page"]["free_ms"] == 0.0
    held = worker_threads(scenario.platform.endpoints, None, Probe(0.1, 30.0, False, 0.0))
    assert held["sync"]["login"]["free_ms"] == 0.0  # a hash that holds the GIL is GIL work
    # the entry is what the schema takes
    api = scenario.platform.tiers[0]
    assert type(api).model_validate(api.model_dump() | {"threads": entry}).threads.slots == entry["slots"]
