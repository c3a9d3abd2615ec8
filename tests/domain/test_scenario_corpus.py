"""Mutation corpus: every field of every shipped scenario, replaced by impossible values.

Each mutant is written as YAML text (so impossible dates such as ``2023-13-05`` reach the
loader as a person would type them) and run through ``yanxiu validate`` in-process. Whatever the
value, the command must answer with exit 0 (the value is legal) or exit 2 and exactly one line on
stderr; never a traceback. The default run covers an even spread of each file's nodes with one
mutation each (rotating through the corpus, about 2 s); ``-m slow`` tries every mutation on every
node (about 20,000 mutants, minutes).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from yanxiu.cli import main

SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
PLACEHOLDER = "__MUTANT__"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Raw YAML text substituted for a node. Dates, numbers, types, sizes and emptiness.
MUTATIONS: tuple[str, ...] = (
    "2023-13-05",
    "2022-12-32",
    "2023-02-29T25:61:00",
    "-1",
    "-0.5",
    "0",
    ".nan",
    ".inf",
    "-.inf",
    "1e308",
    "99999999999999999999999999999",
    "123456789012",
    "'lots'",
    "''",
    "true",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "'-01:00'",
    "'99:99:99'",
)

Path_ = tuple[str | int, ...]
FAST_NODES = 60  # per file in the default run


def _nodes(value: object, path: Path_ = ()) -> Iterator[Path_]:
    """Every node's path, containers included (a container mutated to [] or {} counts too)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _nodes(child, (*path, index))


def _mutant_text(data: dict, path: Path_, raw: str) -> str:
    mutant = copy.deepcopy(data)
    parent = mutant
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = PLACEHOLDER
    text = yaml.dump(mutant, Dumper=DUMPER, allow_unicode=True, sort_keys=False)
    assert text.count(PLACEHOLDER) == 1
    return text.replace(PLACEHOLDER, raw)


def _problems(scenario: Path, cases: list[tuple[Path_, str]], tmp_path: Path, capsys) -> list[str]:
    data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    target = tmp_path / scenario.name
    problems = []
    for path, raw in cases:
        target.write_text(_mutant_text(data, path, raw), encoding="utf-8")
        where = f"{'.'.join(map(str, path))} = {raw}"
        try:
            code = main(["validate", str(target)])
        except BaseException as exc:  # noqa: BLE001 - the point is to catch anything that escapes
            problems.append(f"{where}: raised {type(exc).__name__}: {exc}")
            continue
        err = capsys.readouterr().err
        if code not in (0, 2):
            problems.append(f"{where}: exit {code}")
        elif code == 2 and (err.count("\n") != 1 or "Traceback" in err or str(target) not in err):
            problems.append(f"{where}: not one line naming the file: {err!r}")
    return problems


def _all_nodes(scenario: Path) -> list[Path_]:
    return list(_nodes(yaml.safe_load(scenario.read_text(encoding="utf-8"))))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_spread_of_nodes_gets_exit_0_or_one_line(scenario, tmp_path, capsys):
    nodes = _all_nodes(scenario)
    stride = max(1, len(nodes) // FAST_NODES)
    cases = [(path, MUTATIONS[i % len(MUTATIONS)]) for i, path in enumerate(nodes[::stride])]
    problems = _problems(scenario, cases, tmp_path, capsys)
    assert not problems, f"{len(problems)} mutants escaped:\n" + "\n".join(problems[:30])


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_every_node_every_mutation(scenario, tmp_path, capsys):
    cases = [(path, raw) for path in _all_nodes(scenario) for raw in MUTATIONS]
    problems = _problems(scenario, cases, tmp_path, capsys)
    assert not problems, f"{len(problems)} mutants escaped:\n" + "\n".join(problems[:30])


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("field", "raw"), [("opens", "2023-13-05"), ("start", "2022-12-32")])
def test_impossible_dates_name_the_field(command, field, raw, tmp_path, capsys):
    text = (ROOT / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    old = {"opens": "opens: 2023-01-03", "start": "start: 2023-01-03T00:00:00"}[field]
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, f"{field}: {raw}", 1), encoding="utf-8")
    argv = [command, str(bad)] + (["--out", str(tmp_path / "out")] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    path = "courses[0].opens" if field == "opens" else "calendar.start"
    assert err.count("\n") == 1 and f"{path}:" in err and raw in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("old", "new", "message"), [
    ("deadline_rush: {days: 2, factor: 3}", "deadline_rush: {days: 123456789012, factor: 3}",
     "behaviour.deadline_rush.days: 1.23457e+11 days is longer than the window (10 days)"),
    ("mean: 38, sd: 22}", 'mean: 38, sd: "inf"}', "length_minutes.sd: expected a finite number"),
    ("mean: 38, sd: 22}", "mean: 38, sd: 1e200}", "length_minutes.sd: 1e+200 is too large"),
    ("teachers: 2000 ", "teachers: 99999999999999999999 ", "population.teachers: 1e+20 is too large"),
])
def test_numbers_no_scenario_can_mean(old, new, message, tmp_path, capsys):
    text = (ROOT / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_huge_seed_is_still_a_seed(tmp_path):
    text = (ROOT / "scenarios" / "smoke.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "seeded.yaml"
    bad.write_text(text.replace("seed: 7", "seed: 123456789012345678", 1), encoding="utf-8")
    assert main(["validate", str(bad)]) == 0
