"""A font for Chinese chart text, or a clean fallback to English (never tofu boxes)."""

from __future__ import annotations

import re

# Families that cover simplified Chinese, best first (Debian: fonts-noto-cjk, fonts-wqy-zenhei).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Noto Sans CJK JP", "Noto Serif CJK SC", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC",
)
CJK_FILE = re.compile(r"(?i)cjk|wqy|wenquanyi|sourcehan|simhei|msyh|pingfang|uming|ukai")
PROBE = "请求峰值教师证书"  # characters every chart title in Chinese needs


def _covers(path: str, text: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except (OSError, RuntimeError):
        return False
    return all(ord(ch) in charmap for ch in text)


def _best(text: str) -> str | None:
    from matplotlib import font_manager

    by_name: dict[str, str] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    for family in CJK_FAMILIES:
        if family in by_name and _covers(by_name[family], text):
            return family
    return None


def find_cjk_font(text: str = PROBE) -> str | None:
    """The family name of an installed font that draws ``text``, or None."""
    from matplotlib import font_manager

    found = _best(text)
    if found:
        return found
    # Matplotlib's font cache predates fonts installed later: register those files and retry.
    for path in font_manager.findSystemFonts():
        if CJK_FILE.search(path):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return _best(text)


def rc_for(family: str | None) -> dict:
    """Matplotlib settings for chart text: the CJK family first, DejaVu for anything it lacks."""
    if family is None:
        return {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}
    return {"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"],
            "axes.unicode_minus": False}
