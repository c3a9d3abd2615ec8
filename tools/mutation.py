"""Mutation testing of one module with cosmic-ray, running only the tests that cover it.

    .venv/bin/python tools/mutation.py domain/campaign.py      (or: make mutation MODULE=...)

cosmic-ray mutates the module *in place*, so the run happens in a private copy of the work
tree (tracked and untracked files as they are now, never the shared tree). Each mutant runs
the module's tests from tools/mutation.toml with ``-x`` and a timeout; the operators tried are
that file's reduced set. Survivors are printed with their diff; a survivor listed in
tools/mutation-equivalents.toml (same module, operator and mutated source line) is a reviewed
equivalent and leaves the score. The score is killed / (tried - equivalents).

Exit status: 0, or 1 when ``--fail-under`` is given and the score is below it, 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
EQUIVALENTS = ROOT / "tools" / "mutation-equivalents.toml"
BIN = Path(sys.executable).parent
# The compiled model modules (sim/native.py) would be served instead of a mutated source only
# if hashes matched, but plain Python is simpler to reason about; pytest plugins (schemathesis,
# faker, locust) cost seconds of start-up per mutant and none of the mapped tests needs them.
ENV = {"YANXIU_NATIVE": "0", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


class MutationError(ValueError):
    """Bad input to the runner; str() is one line."""


@dataclass(frozen=True)
class Mutant:
    job_id: str
    operator: str
    line_no: int
    line: str  # the original source line, whitespace normalised
    outcome: str  # killed, survived, incompetent
    diff: str

    @property
    def mutated(self) -> str:
        """The first line the mutant changed, as mutated (whitespace normalised)."""
        added = [ln[1:] for ln in self.diff.splitlines()
                 if ln.startswith("+") and not ln.startswith("+++") and ln[1:].strip()]
        return _normal(added[0]) if added else ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.operator, self.line, self.mutated


@dataclass(frozen=True)
class Equivalent:
    operator: str
    line: str
    mutant: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.operator, self.line, self.mutant


def _normal(text: str) -> str:
    return " ".join(text.split())


def load_config(module: str) -> tuple[list[str], list[str], float]:
    config = tomllib.loads(CONFIG.read_text())
    modules = config["modules"]
    if module not in modules:
        raise MutationError(f"MODULE: {module!r} has no test mapping in {CONFIG.relative_to(ROOT)}")
    tests = list(modules[module]["tests"])
    missing = [t for t in tests if not (ROOT / t.split("::")[0]).exists()]
    if missing:
        raise MutationError(f"{CONFIG.relative_to(ROOT)}: {module}: no such test file {missing[0]}")
    tests += modules[module].get("pytest_args", [])  # e.g. a -m marker expression
    return tests, list(config["operators"]["exclude"]), float(config["run"]["timeout_s"])


def load_equivalents(module: str) -> list[Equivalent]:
    if not EQUIVALENTS.exists():
        return []
    entries = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", [])
    for i, entry in enumerate(entries):
        for key in ("module", "operator", "line", "reason"):  # mutant "": the line is deleted
            if not str(entry.get(key, "")).strip():
                raise MutationError(f"{EQUIVALENTS.relative_to(ROOT)}: equivalent[{i}].{key} is missing")
    mine = [e for e in entries if e["module"] == module]
    return [Equivalent(e["operator"], _normal(e["line"]), _normal(e["mutant"]), e["reason"]) for e in mine]


def copy_tree(dest: Path) -> None:
    """The work tree as it is now (tracked and untracked files, not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def write_session_config(work: Path, module: str, tests: list[str], exclude: list[str],
                         timeout_s: float) -> Path:
    command = " ".join([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests])
    lines = [
        "[cosmic-ray]",
        f"module-path = {module!r}",
        f"timeout = {timeout_s}",
        "excluded-modules = []",
        f"test-command = {command!r}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        "exclude-operators = [" + ", ".join(repr(e) for e in exclude) + "]",
    ]
    path = work / "cosmic-ray.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_baseline(work: Path, tests: list[str], timeout_s: float) -> None:
    """The unmutated module must pass its tests, or every mutant would look killed."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    done = subprocess.run(command, cwd=work, env=os.environ | ENV, capture_output=True, text=True,
                          timeout=timeout_s * 4)
    if done.returncode != 0:
        tail = done.stdout.strip().splitlines()[-15:]
        raise MutationError("the mapped tests fail before any mutation:\n" + "\n".join(tail))


def init_session(work: Path, config: Path) -> Path:
    """cosmic-ray finds the mutants and stores them; its operator filter marks the excluded."""
    session = work / "session.sqlite"
    env = os.environ | ENV
    for command in (["cosmic-ray", "init", str(config), str(session)],
                    ["cr-filter-operators", str(session), str(config)]):
        subprocess.run([str(BIN / command[0]), *command[1:]], cwd=work, env=env, check=True,
                       capture_output=True)
    return session


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


def read_mutants(session: Path) -> list[Mutant]:
    """The session's mutants that ran (not filtered out, not impossible), each with its source
    line as its diff shows it (so a kept session can be reported after the code moved on)."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    mutants = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                continue
            (spec,) = item.mutations
            line_no = spec.start_pos[0]
            removed = [ln[1:] for ln in (result.diff or "").splitlines()  # blank lines say nothing
                       if ln.startswith("-") and not ln.startswith("---") and ln[1:].strip()]
            mutants.append(Mutant(item.job_id, spec.operator_name, line_no,
                                  _normal(removed[0]) if removed else "", _outcome(result),
                                  result.diff or ""))
    return sorted(mutants, key=lambda m: (m.line_no, m.operator))


def _outcome(result) -> str:
    """killed, survived or incompetent (a mutant the tests cannot even start with)."""
    return result.test_outcome.value if result.test_outcome is not None else "incompetent"


def report(module: str, mutants: list[Mutant], equivalents: list[Equivalent]) -> float:
    reviewed = {e.key for e in equivalents}
    survivors = [m for m in mutants if m.outcome == "survived"]
    equivalent = [m for m in survivors if m.key in reviewed]
    live = [m for m in survivors if m.key not in reviewed]
    for m in live:
        print(f"\nSURVIVED {m.operator} line {m.line_no}: {m.line}\n{_diff_body(m.diff)}")
        print(f"  as an equivalent: operator = {m.operator!r}, line = {m.line!r}, mutant = {m.mutated!r}")
    for m in equivalent:
        print(f"equivalent (reviewed) {m.operator} line {m.line_no}: {m.mutated}")
    stale = reviewed - {m.key for m in equivalent}
    for operator, _line, mutant in sorted(stale):
        print(f"note: reviewed equivalent not seen surviving (changed or killed): {operator}: {mutant}")
    counted = len(mutants) - len(equivalent)
    killed = counted - len(live)
    score = killed / counted if counted else 1.0
    print(f"\n{module}: {killed}/{counted} killed = {score:.1%} "
          f"({len(mutants)} tried, {len(equivalent)} reviewed equivalent, {len(live)} survived)")
    return score


def rerun_survivors(module: str, session: Path, tests: list[str], timeout_s: float,
                    equivalents: list[Equivalent], time_limit_s: float | None = None) -> float:
    """Run a kept session's survivors again after tests were added: the private copy's tests
    are refreshed from the work tree and only the mutants that survived are pending again
    (killed ones stay killed: adding tests cannot revive them). The module must be the one
    the session mutated, or the stored mutants would point at the wrong code."""
    from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db
    from cosmic_ray.work_item import TestOutcome

    work = session.parent
    if not session.is_file() or not (work / module).is_file():
        raise MutationError(f"--survivors: no kept session of {module} at {session}")
    if (work / module).read_bytes() != (ROOT / module).read_bytes():
        raise MutationError(f"--survivors: {module} changed since the session; run it afresh")
    print(f"refreshing {work} from the work tree", flush=True)
    copy_tree(work)
    run_baseline(work, tests, timeout_s)
    with use_db(str(session), WorkDB.Mode.open) as db, db._session_maker.begin() as rows:
        again = rows.query(WorkResultStorage).filter(WorkResultStorage.test_outcome == TestOutcome.SURVIVED)
        print(f"running {again.delete()} survivors again", flush=True)
    os.environ.update(ENV)
    warm_up(work, module, tests)
    left = run_mutants(work, module, session, tests, timeout_s, time_limit_s)
    score = report(module, read_mutants(session), equivalents)
    if left:
        print(f"PARTIAL: {left} mutants not run (--time-limit)")
    return score


def _diff_body(diff: str) -> str:
    kept = (line for line in diff.splitlines() if line[:1] in "+-@" and line[:3] not in ("---", "+++"))
    return "\n".join(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="a path relative to the repository root, e.g. domain/campaign.py")
    parser.add_argument("--fail-under", type=float, default=None, help="minimum score, e.g. 0.9")
    parser.add_argument("--keep", action="store_true", help="keep the private copy and its session")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="start no mutant after S seconds and report the ones run (a partial score)")
    parser.add_argument("--session", type=Path, default=None,
                        help="only report a session kept by --keep, against today's equivalents list")
    parser.add_argument("--survivors", type=Path, default=None, metavar="SESSION",
                        help="run again only the survivors of a session kept by --keep, against the "
                             "tests as they are now (the module itself must be unchanged)")
    args = parser.parse_args(argv)
    try:
        equivalents = load_equivalents(args.module)
        if args.session is not None:
            if not args.session.is_file():
                raise MutationError(f"--session: no such file {args.session}")
            score = report(args.module, read_mutants(args.session), equivalents)
            return 1 if args.fail_under is not None and score < args.fail_under else 0
        tests, exclude, timeout_s = load_config(args.module)
        if args.survivors is not None:
            score = rerun_survivors(args.module, args.survivors, tests, timeout_s, equivalents,
                                    args.time_limit)
            return 1 if args.fail_under is not None and score < args.fail_under else 0
        work = Path(tempfile.mkdtemp(prefix="yanxiu-mutation-"))
        try:
            print(f"copying the work tree to {work}", flush=True)
            copy_tree(work)
            print(f"baseline: {' '.join(tests)}", flush=True)
            run_baseline(work, tests, timeout_s)
            config = write_session_config(work, args.module, tests, exclude, timeout_s)
            session = init_session(work, config)
            print("mutating (cosmic-ray's mutants, tests run in forked children)", flush=True)
            os.environ.update(ENV)
            preloaded = warm_up(work, args.module, tests)
            print(f"preloaded {len(preloaded)} project modules that do not import {args.module}", flush=True)
            left = run_mutants(work, args.module, session, tests, timeout_s, args.time_limit)
            score = report(args.module, read_mutants(session), equivalents)
            if left:
                print(f"PARTIAL: {left} mutants not run (--time-limit)")
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    except MutationError as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return 2
    return 1 if args.fail_under is not None and score < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
