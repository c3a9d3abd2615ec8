"""Compiled hot modules: used only when current, and bit-for-bit the same results as plain Python."""

import json
import os
import subprocess
import sys

import pytest

from sim import native

RUN = """
import hashlib, sys
import sim.native
sim.native.install()
from domain.scenario import load_scenario
from sim.model import run_model
run = run_model(load_scenario("scenarios/smoke.yaml"), teachers=600, seed=7)
digest = hashlib.sha256(run.recorder.counts.tobytes() + run.progress.studied.tobytes()
                        + run.progress.passed_at.tobytes()).hexdigest()
print(sim.native.active(), digest)
"""


def _fake_build(tmp_path, **changes):
    files = {}
    for module in native.HOT:
        rel = module.replace(".", "/") + native._suffix()
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
        files[module] = rel
    manifest = {"suffix": native._suffix(), "files": files,
                "sources": {m: native._digest(native._source(m)) for m in native.HOT}}
    manifest.update(changes)
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


def test_a_build_matching_the_sources_is_usable(tmp_path):
    files = native.usable_build(_fake_build(tmp_path))
    assert files is not None and set(native.HOT) <= set(files)


def test_a_stale_build_is_never_used(tmp_path):
    sources = {m: native._digest(native._source(m)) for m in native.HOT}
    sources[native.HOT[0]] = "0" * 64  # the source changed since the build
    assert native.usable_build(_fake_build(tmp_path, sources=sources)) is None


def test_a_build_for_another_interpreter_is_never_used(tmp_path):
    assert native.usable_build(_fake_build(tmp_path, suffix=".cpython-39-x86_64-linux-gnu.so")) is None


def test_a_missing_or_broken_manifest_means_plain_python(tmp_path):
    assert native.usable_build(tmp_path) is None
    (tmp_path / native.MANIFEST).write_text("{not json")
    assert native.usable_build(tmp_path) is None


def _run(env_native: str) -> tuple[bool, str]:
    env = dict(os.environ, YANXIU_NATIVE=env_native)
    done = subprocess.run([sys.executable, "-c", RUN], capture_output=True, text=True, env=env,
                          cwd=native.SOURCE_ROOT, timeout=300, check=True)
    active, digest = done.stdout.split()
    return active == "True", digest


@pytest.mark.skipif(native.usable_build() is None, reason="no current compiled build (yanxiu compile)")
def test_compiled_and_plain_modules_give_identical_results():
    compiled, plain = _run("1"), _run("0")
    assert compiled[0] and not plain[0]
    assert compiled[1] == plain[1]


def test_importing_the_domain_or_the_model_package_installs_no_import_hook():
    """The reference server imports domain.campaign (and sim's packages are imported by tools):
    no finder may be put in front of their imports unless a model entry point asks."""
    code = ("import sys, domain.campaign, domain.decisions, sim, sim.tiers.sizing; "
            "from sim import native; "
            "print(any(isinstance(f, native._Finder) for f in sys.meta_path))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=native.SOURCE_ROOT, timeout=120, check=True)
    assert done.stdout.strip() == "False"
