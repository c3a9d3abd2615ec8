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
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from mutation_forks import run_mutants, warm_up
from mutation_report import Equivalent, MutationError, normal, read_mutants, report

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tools" / "mutation.toml"
EQUIVALENTS = ROOT / "tools" / "mutation-equivalents.toml"
BIN = Path(sys.executable).parent
# The compiled model modules (sim/native.py) would be served instead of a mutated source only
# if hashes matched, but plain Python is simpler to reason about; pytest plugins (schemathesis,
# faker, locust) cost seconds of start-up per mutant and none of the mapped tests needs them.
ENV = {"YANXIU_NATIVE": "0", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


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
    return [Equivalent(e["operator"], normal(e["line"]), normal(e["mutant"]), e["reason"]) for e in mine]


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
