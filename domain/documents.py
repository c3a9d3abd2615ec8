"""Scenario documents before the schema: YAML read safely (impossible dates stay text),
includes resolved (``extends:``, ``behaviour_file:``), impossible numbers caught, and pydantic's
errors turned into one line naming the field path (domain.scenario)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from domain.fields import ScenarioError


def format_error(error: Mapping[str, Any]) -> str:
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error["loc"])
    path = path.replace(".[", "[")
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith("@"):  # a cross-check that names its own path
        path, message = message[1:].split(": ", 1)
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "missing field"
    elif "input" in error and error["type"] not in ("value_error",) and not isinstance(
        error["input"], dict | list
    ):
        message = f"{message} (got {error['input']!r})"
    # Discriminated unions add the chosen tag to the path; it is not a field name.
    return f"{path or '<top>'}: {message}"


# No scenario figure comes near this (13.72 M teachers, 3,000 Gbps, seconds of a window); larger
# ones are slips, and they overflow date and power arithmetic (timedelta, sd**2) in validators.
LARGEST_FIGURE = 1e12


def _impossible_number(value: object) -> str | None:
    if isinstance(value, str):  # pydantic reads "inf" or "1e200" in a number field as a number
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number, got NaN or infinity"
    if abs(value) > LARGEST_FIGURE:
        return f"{float(value):g} is too large for a scenario figure (limit {LARGEST_FIGURE:g})"
    return None


def first_impossible_number(value: object, path: str = "") -> tuple[str, str] | None:
    """The path of the first NaN, infinity or absurdly large number, and what is wrong. NaN and
    infinity pass pydantic's float bounds (inf > 0); no scenario number means any of them, so
    they are refused before validation, wherever they sit."""
    if (problem := _impossible_number(value)) is not None:
        return path or "<top>", problem
    if isinstance(value, dict):
        # a seed is any integer numpy takes, however large
        children = [(f"{path}.{key}".lstrip("."), child) for key, child in value.items()
                    if not (key == "seed" and isinstance(child, int))]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", child) for i, child in enumerate(value)]
    else:
        children = []
    for child_path, child in children:
        if (found := first_impossible_number(child, child_path)) is not None:
            return found
    return None


class _ScenarioLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML whose impossible dates (``2023-13-05``) stay text, so the field they sit in
    names the problem instead of the YAML library raising ValueError from deep inside."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> object:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return self.construct_scalar(node)  # type: ignore[arg-type]


_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _ScenarioLoader.construct_yaml_timestamp)


# Sections of a fitted behaviour file (``yanxiu fit``) that a scenario takes over; the rest of
# that file (provenance, posterior, fit) is the fit's record, read by ``yanxiu run --ranges``.
BEHAVIOUR_FILE_SECTIONS = ("behaviour", "platform", "population")


def compose_document(path: str | Path, _seen: tuple[Path, ...] = ()) -> object:
    """A scenario's YAML with its includes resolved: ``extends: FILE`` (a base scenario, merged
    under this one) and ``behaviour_file: FILE`` (a fitted behaviour file, merged over the base
    and under this file's own keys); paths are relative to the including file. Mappings merge
    key by key, anything else is replaced."""
    path = Path(path)
    data = read_document(path)
    if not isinstance(data, dict) or not ({"extends", "behaviour_file"} & data.keys()):
        return data
    if path.resolve() in _seen:
        raise ScenarioError(f"{path}: extends: includes itself (cycle)")
    seen = (*_seen, path.resolve())
    own = dict(data)
    base: dict = {}
    if "extends" in own:
        base = _included(path, own.pop("extends"), "extends", seen)
    if own.get("behaviour_file") is not None:
        fitted = _included(path, own["behaviour_file"], "behaviour_file", seen)
        unknown = set(fitted) - set(BEHAVIOUR_FILE_SECTIONS) - {"provenance", "posterior", "fit"}
        if unknown:
            raise ScenarioError(f"{path}: behaviour_file: {sorted(unknown)[0]}: unknown section")
        base = _merge(base, {k: fitted[k] for k in BEHAVIOUR_FILE_SECTIONS if k in fitted})
        own["behaviour_file"] = str((path.parent / str(own["behaviour_file"])).resolve())
    return _merge(base, own)


def _included(path: Path, name: object, key: str, seen: tuple[Path, ...]) -> dict:
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{path}: {key}: expected a file path")
    try:
        data = compose_document(path.parent / name, seen)
    except ScenarioError as exc:  # name the including file first: that is the one the user gave
        raise ScenarioError(f"{path}: {key}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: {key}: {name} is not a mapping")
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_document(path: str | Path) -> object:
    """A scenario file's YAML as plain data (``ScenarioError`` naming the file when unreadable)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - safe: a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise ScenarioError(f"{path}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}") from None
    return data
