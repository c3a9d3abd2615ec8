"""Chinese chart text is drawn with a real CJK font: no missing-glyph boxes."""

from __future__ import annotations

import io
import warnings

import pytest

from report.fonts import find_cjk_font, rc_for
from report.i18n import STRINGS, Labels


def _fields(template: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_string_has_both_languages():
    for key, (english, chinese) in STRINGS.items():
        assert english and chinese, key
        assert _fields(english) == _fields(chinese), key  # both languages say the same figures
        fields = dict.fromkeys(_fields(english), "1")
        assert Labels("zh")(key, **fields) and Labels("en")(key, **fields)


def test_zh_charts_have_no_missing_glyphs(model_results):
    family = find_cjk_font()
    if family is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    import matplotlib
    from matplotlib.figure import Figure

    with warnings.catch_warnings(), matplotlib.rc_context(rc_for(family)):
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        fig = Figure()
        ax = fig.subplots()
        ax.set_title("".join(chinese for _, chinese in STRINGS.values())[:400])
        ax.plot([-1, 1], [-2, 2])  # a minus sign on the ticks too
        fig.savefig(io.BytesIO(), format="png")


def test_missing_glyphs_would_be_caught():
    """Without the CJK font, DejaVu Sans lacks the glyphs and the warning fires."""
    import matplotlib
    from matplotlib.figure import Figure

    with pytest.warns(UserWarning, match="[Gg]lyph.*missing"), matplotlib.rc_context(rc_for(None)):
        fig = Figure()
        fig.subplots().set_title("整个学习期间")
        fig.savefig(io.BytesIO(), format="png")
