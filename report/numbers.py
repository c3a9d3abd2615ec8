"""Numbers as a person writes them in a report: no 2.8e-72, no negative lower bound for a
quantity that cannot be negative, '1 server' but '2 servers', millions as '13.72 million'."""

from __future__ import annotations

import math

from report.i18n import Labels

DASH = "–"
# Below this a figure is zero for anyone reading the page (a wait of 1e-9 ms, a share of 1e-12).
NEGLIGIBLE = 5e-4


def figure(value: float | None, digits: int = 3) -> str:
    """A general figure: thousands separated above 100, ``digits`` significant figures below,
    '0' for a negligible one (never scientific notation)."""
    if value is None or not math.isfinite(value):
        return DASH
    if abs(value) < NEGLIGIBLE:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    text = f"{value:.{digits}g}"
    if "e" in text:  # 0.000612 -> 6.12e-04 with 'g': write the decimals out
        text = f"{value:.{digits + 3}f}".rstrip("0").rstrip(".")
    return text


def big(value: float | None, t: Labels) -> str:
    """13,720,987 -> '13.72 million' (en) / '1372.1 万' (zh); smaller counts in full."""
    if value is None or not math.isfinite(value):
        return DASH
    if t.lang == "zh" and abs(value) >= 1e5:
        return f"{value / 1e4:.1f} 万" if abs(value) < 1e8 else f"{value / 1e8:.2f} 亿"
    if t.lang != "zh" and abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} million"
    return f"{value:,.0f}"


def share(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    if 0 < abs(value) < 10 ** -(digits + 2):
        return f"< {10 ** -digits:g}%"
    return f"{value:.{digits}%}"


def interval(lo: float | None, hi: float | None, non_negative: bool = True) -> str:
    """'[0, 10.98]': a Student-t interval of a quantity that cannot go below zero is clipped
    at zero (the interval is symmetric, the quantity is not)."""
    if lo is None or hi is None:
        return DASH
    if non_negative:
        lo, hi = max(lo, 0.0), max(hi, 0.0)
    return f"[{figure(lo)}, {figure(hi)}]"


def amount(value: float | None, unit: str, t: Labels) -> str:
    """'1 server', '75 servers', '1,268 Gbps'; in Chinese '75 台服务器'."""
    if value is None or (math.isinf(value) and value > 0):  # records write an infinite need as None
        return t("unbounded")
    if not math.isfinite(value):
        return DASH
    text = figure(value)
    if unit not in UNITS:
        return f"{text} {unit}".strip()
    key = "unit_" + unit + ("_one" if t.lang != "zh" and text == "1" else "")
    return f"{text} {t(key)}"


UNITS = ("servers", "Gbps", "teachers")
