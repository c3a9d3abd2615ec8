"""Imports only point down the layers (README "Layout"; the team's layer rule).

Every module of the project's packages is parsed (``ast``), and every import in it, at the top
or inside a function, is checked: a package imports only packages of lower layers; the
reference platform and the load tests, side by side, never import each other; the reference
platform never imports the model; the report and the gate read results through ``records``
(and the scenario language in ``domain``), never the model's, the load tests' or the
platform's internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"domain": 1, "records": 2, "sim": 3, "reference": 4, "loadtests": 4, "calibrate": 5, "fit": 5,
          "report": 6, "gate": 6, "yanxiu": 7}
# pairs that the layer numbers alone would allow, and the rule forbids
FORBIDDEN = {("reference", "sim"), ("report", "sim"), ("report", "loadtests"), ("report", "reference"),
             ("report", "calibrate"), ("report", "fit"), ("gate", "sim"), ("gate", "loadtests"),
             ("gate", "reference"), ("gate", "calibrate"), ("gate", "fit")}
# same-layer pairs that may import one another (one way)
SIBLINGS_ALLOWED = {("report", "gate"), ("calibrate", "fit")}


def _modules() -> list[Path]:
    return sorted(p for package in LAYERS if (ROOT / package).is_dir()
                  for p in (ROOT / package).rglob("*.py"))


def _imported(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute or relative import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = path.relative_to(root).with_suffix("").parts
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here[:-node.level] if here[-1] != "__init__" else here[:len(here) - node.level]
                found.append((node.lineno, (base or (node.module or "").split("."))[0]))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations() -> list[str]:
    out = []
    for path in _modules():
        own = path.relative_to(ROOT).parts[0]
        for line, other in _imported(path):
            if other == own or other not in LAYERS:
                continue
            upward = LAYERS[other] > LAYERS[own]
            sideways = LAYERS[other] == LAYERS[own] and (own, other) not in SIBLINGS_ALLOWED
            if upward or sideways or (own, other) in FORBIDDEN:
                out.append(f"{path.relative_to(ROOT)}:{line}: {own} (layer {LAYERS[own]}) imports "
                           f"{other} (layer {LAYERS[other]})")
    return out


def test_no_module_imports_a_higher_layer_or_a_forbidden_sibling():
    assert violations() == []


def test_the_walk_sees_function_level_and_relative_imports(tmp_path):
    """The checker itself: an import inside a function, and a relative one, are found."""
    package = tmp_path / "sim"
    package.mkdir()
    (package / "bad.py").write_text("def f():\n    from report import build\n    from . import model\n")
    assert {name for _, name in _imported(package / "bad.py", tmp_path)} == {"report", "sim"}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_every_layer_exists_or_is_optional(package):
    # a renamed package would silently drop out of the walk above
    assert (ROOT / package).is_dir() or package in {"calibrate", "fit"}
