"""The threshold language: ``fn(name) op value[unit]``, e.g. ``p95(latency.api) < 300ms``.

A tiny tokenizer and a fixed-shape parser (no ``eval``). The left side, written without
spaces, is the key looked up verbatim in ``summary.json["metrics"]`` (docs/results.md); the
right side is converted to that map's base units: milliseconds for latency, a fraction for
shares and rates, per-second for rates of things, Gbps for bandwidth.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
    "!=": lambda a, b: not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}

# unit -> (factor to the base unit, kind); kinds keep '%' off latencies and 'ms' off shares.
# Factors are decimal strings so that '95%' is exactly 0.95, not 0.9500000000000001.
UNITS: dict[str, tuple[str, str]] = {
    "ms": ("1", "time"),
    "s": ("1000", "time"),
    "%": ("0.01", "fraction"),
    "Gbps": ("1", "bandwidth"),
    "Mbps": ("0.001", "bandwidth"),
    "/s": ("1", "per_second"),
}
MULTIPLIERS = {"k": "1000", "M": "1000000"}

# Functions and which way is worse when a value moves (for regression checks against a
# baseline): +1 means a higher value is worse, -1 a lower one.
FUNCTIONS: dict[str, int] = {
    "peak": +1,
    "mean": +1,
    "max": +1,
    "rate": +1,
    "share": -1,
    "min": -1,
    # |predicted / measured - 1| of another metric, e.g. prediction_error(p95(latency.heartbeat))
    # (calibrate.compare): the model's error against a load test; absent when not comparable
    "prediction_error": +1,
}
# functions whose argument is itself fn(metric)
NESTING = {"prediction_error"}
NESTED_NAME = re.compile(r"[A-Za-z0-9_.]+\([A-Za-z0-9_][A-Za-z0-9_.\-:]*\)")
PERCENTILE = re.compile(r"p(\d+(?:\.\d+)?)")
UNIT_KINDS_FOR = {"share": {"fraction"}, "rate": {"fraction", "per_second"}, "prediction_error": {"fraction"}}

TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<ident>p[0-9]+\.[0-9]+(?=\()|[A-Za-z_][A-Za-z0-9_]*)"  # p99.9( is one function name
    r"|(?P<lparen>\()"
    r"|(?P<rparen>\))"
    r"|(?P<name>[A-Za-z0-9_.\-:]+)"
    r"|(?P<unit>%|/s)"
    r"|(?P<bad>\S)"
    r")"
)
METRIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-:]*")


class ThresholdError(ValueError):
    """A threshold that cannot be parsed; str() says what is wrong in one line."""


@dataclass(frozen=True)
class Threshold:
    text: str  # as written in the scenario
    fn: str
    name: str
    op: str
    value: float  # in base units
    unit: str  # as written ('' if none), used to print actual values alike

    @property
    def metric(self) -> str:
        """The key in summary.json["metrics"]."""
        return f"{self.fn}({self.name})"

    def holds(self, actual: float) -> bool:
        return OPERATORS[self.op](actual, self.value)


def direction(fn: str) -> int | None:
    """+1 if a higher value of ``fn(...)`` is worse, -1 if lower is worse, None if unknown."""
    if PERCENTILE.fullmatch(fn):
        return +1
    return FUNCTIONS.get(fn)


def metric_direction(metric: str) -> int | None:
    """Direction of a metrics-map key such as ``share(certified)``."""
    fn = metric.split("(", 1)[0]
    return direction(fn)


class Token(NamedTuple):
    kind: str
    text: str
    start: int


def _tokens(text: str) -> list[Token]:
    out = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:  # only trailing spaces are left
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            where = match.start(kind) + 1
            raise ThresholdError(f"unexpected character {match.group(kind)!r} at column {where}")
        out.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return out


def _check_fn(fn: str) -> None:
    pct = PERCENTILE.fullmatch(fn)
    if pct:
        if not 0 < float(pct.group(1)) < 100:
            raise ThresholdError(f"percentile {fn!r} must be between p0 and p100")
        return
    if fn not in FUNCTIONS:
        known = ", ".join(["p50/p95/p99 (any pNN)", *FUNCTIONS])
        raise ThresholdError(f"unknown function {fn!r} (known: {known})")


def _split_unit(unit: str) -> tuple[str, str]:
    """'k/s' -> ('1000', '/s'); 'Mbps' -> ('1', 'Mbps'): a whole unit wins over a multiplier."""
    if unit in UNITS or not unit:
        return "1", unit
    if unit[0] in MULTIPLIERS and (unit[1:] in UNITS or not unit[1:]):
        return MULTIPLIERS[unit[0]], unit[1:]
    raise ThresholdError(f"unknown unit {unit!r} (known: {', '.join(UNITS)}, and k/M multipliers)")


def _value(text: str, tokens: list[Token]) -> tuple[float, str]:
    """NUMBER [k|M] [unit] -> (value in base units, unit text)."""
    if not tokens or tokens[0].kind != "number":
        raise ThresholdError("expected a number after the operator")
    unit = text[tokens[1].start:].strip() if len(tokens) > 1 else ""
    multiplier, base = _split_unit(unit)
    scale = Decimal(multiplier) * Decimal(UNITS[base][0] if base else "1")
    return float(Decimal(tokens[0].text) * scale), unit


def _check_unit(fn: str, unit: str) -> None:
    base = _split_unit(unit)[1]
    if not base:
        return
    kind = UNITS[base][1]
    if PERCENTILE.fullmatch(fn) and kind != "time":
        raise ThresholdError(f"{fn}() is a latency: use ms or s, not {unit!r}")
    allowed = UNIT_KINDS_FOR.get(fn)
    if allowed is not None and kind not in allowed:
        raise ThresholdError(f"{fn}() is a {'/'.join(sorted(allowed))}: {unit!r} does not fit")


def parse_threshold(text: str) -> Threshold:
    """Parse one threshold; raise ThresholdError naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ThresholdError("empty threshold")
    tokens = _tokens(text)
    kinds = [token.kind for token in tokens]
    if kinds[:2] != ["ident", "lparen"]:
        raise ThresholdError("expected fn(metric) on the left, e.g. p95(latency.api)")
    fn = tokens[0].text
    _check_fn(fn)
    try:
        close = kinds.index("rparen")
    except ValueError:
        raise ThresholdError(f"missing ')' after {fn}(") from None
    if fn in NESTING and close + 1 < len(kinds) and kinds[close + 1] == "rparen":
        close += 1  # fn(inner(metric)): the argument ends at the second ')'
    name = text[tokens[1].start + 1: tokens[close].start].strip()  # raw: no spaces inside
    if not (METRIC_NAME.fullmatch(name) or (fn in NESTING and NESTED_NAME.fullmatch(name))):
        raise ThresholdError(f"bad metric name {name!r} in {fn}(...)")
    rest = tokens[close + 1:]
    if not rest or rest[0].kind != "op":
        raise ThresholdError(f"expected an operator ({' '.join(OPERATORS)}) after {fn}({name})")
    value_tokens = rest[1:]
    if any(token.kind in ("op", "lparen", "rparen") for token in value_tokens):
        raise ThresholdError("only one comparison is allowed: fn(metric) op value")
    value, unit = _value(text, value_tokens)
    _check_unit(fn, unit)
    return Threshold(text=text.strip(), fn=fn, name=name, op=rest[0].text, value=value, unit=unit)


def format_value(value: float, unit: str) -> str:
    """Print a base-unit value in the unit the threshold was written in."""
    if not math.isfinite(value):
        return str(value)
    multiplier, base = _split_unit(unit)
    scale = float(Decimal(multiplier) * Decimal(UNITS[base][0] if base else "1"))
    return f"{value / scale:.4g}{unit}"


def check_texts(texts: list[str]) -> list[str]:
    """A scenario's ``thresholds`` list, each parsed once; the first bad one is refused with its
    index in the "@path: message" form the scenario loader reports as a field path."""
    for i, text in enumerate(texts):
        try:
            parse_threshold(text)
        except ThresholdError as exc:
            raise ValueError(f"@thresholds[{i}]: {exc} (in {text!r})") from None
    return texts
