"""Running the mutants (``tools/mutation.py``): each applied with cosmic-ray's ``use_mutation``,
its tests run by pytest in a child forked from a process that imported, once, the packages and
project modules that do not import the mutated module (``warm_up``)."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from mutation_report import MutationError


def run_mutants(work: Path, module: str, session: Path, tests: list[str], timeout_s: float,
                time_limit_s: float | None = None) -> int:
    """Each pending mutant applied with cosmic-ray's own ``use_mutation`` (the file is restored
    after), its tests run in a child forked from this warmed process, the result stored in the
    session as cosmic-ray's ``exec`` would (``cr-report`` reads it)."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import _make_diff, use_mutation
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        pending = list(db.pending_work_items)
        random.Random(0).shuffle(pending)  # a run cut by --time-limit is a fair sample of operators
        started = last = time.monotonic()
        for n, item in enumerate(pending, 1):
            if time_limit_s is not None and time.monotonic() - started > time_limit_s:
                print(f"  time limit: {n - 1} of {len(pending)} mutants run (partial)", flush=True)
                return len(pending) - n + 1
            (spec,) = item.mutations
            operator = cosmic_ray.plugins.get_operator(spec.operator_name)(**(spec.operator_args or {}))
            with use_mutation(work / module, operator, spec.occurrence) as (original, mutated):
                if mutated is None:
                    db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NO_TEST))
                    continue
                killed, output = run_forked(work, tests, timeout_s)
            outcome = TestOutcome.KILLED if killed else TestOutcome.SURVIVED
            diff = "\n".join(_make_diff(original, mutated, module))
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NORMAL, output=output,
                                                  test_outcome=outcome, diff=diff))
            if time.monotonic() - last >= 30 or n == len(pending):
                last = time.monotonic()
                print(f"  {n}/{len(pending)} mutants run, {last - started:.0f} s", flush=True)
    return 0


def run_forked(work: Path, tests: list[str], timeout_s: float) -> tuple[bool, str]:
    """Run pytest on ``tests`` in a forked child: (killed?, the output's tail). The child imports
    the project afresh (this process never imports it), so it sees the mutated source; a child
    past the timeout is killed with its process group and the mutant counts as killed."""
    import signal

    with tempfile.TemporaryFile("w+") as log:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 3
            try:
                os.setpgid(0, 0)
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                code = int(_pytest_here(work, ["-x", *tests]))
            finally:
                os._exit(code)
        deadline = time.monotonic() + timeout_s
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return True, "timeout"
            time.sleep(0.05)
        log.seek(0)
        output = log.read()[-2000:]
    return os.waitstatus_to_exitcode(status) != 0, output


def _pytest_here(work: Path, args: list[str]) -> int:
    """pytest in this (forked) process, from the private copy; hypothesis without deadlines
    (a loaded machine must not kill a mutant) and with fewer examples (start-up bound runs)."""
    from hypothesis import settings

    settings.register_profile("mutation", deadline=None, max_examples=30)
    settings.load_profile("mutation")
    os.chdir(work)
    sys.path.insert(0, str(work))
    import pytest

    return int(pytest.main(["-q", "-p", "no:cacheprovider", *args]))


def _in_child(work: Path, job) -> str:
    """Run ``job()`` (which returns text) in a forked child and return the text."""
    with tempfile.TemporaryFile("w+") as out:
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                out.write(job())
                out.flush()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        out.seek(0)
        return out.read()


def warm_up(work: Path, module: str, tests: list[str]) -> list[str]:
    """Import once, before any fork, the third-party packages and the project modules the
    tests import that do not import the mutated module (checked one by one in a child), so a
    mutant pays for its own tests, not for start-up. Returns the project modules preloaded."""
    import importlib

    for name in ("pytest", "numpy", "scipy.special", "scipy.stats", "scipy.integrate", "scipy.optimize",
                 "hypothesis", "hypothesis.strategies", "pydantic", "yaml", "sqlalchemy", "sqlalchemy.orm",
                 "fastapi", "fastapi.testclient", "httpx", "argon2", "simpy"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # a package's __init__.py is imported as the package itself
    mutated = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    root = str(work)

    def project_modules() -> str:
        _pytest_here(work, ["--co", *tests])
        names = [name for name, m in list(sys.modules.items())
                 if (getattr(m, "__file__", None) or "").startswith(root) and not name.startswith("tests")]
        return "\n".join(names)

    sys.path.insert(0, root)
    preloaded = []
    for name in filter(None, _in_child(work, project_modules).splitlines()):
        if name == mutated or name in sys.modules:
            continue
        pulls = _in_child(work, lambda n=name: str(importlib.import_module(n) and mutated in sys.modules))
        if pulls == "False":
            importlib.import_module(name)
            preloaded.append(name)
    if mutated in sys.modules:  # cannot happen given the checks; never run mutants against it
        raise MutationError(f"preloading imported {mutated} itself")
    return preloaded
