"""The self-contained report page: inline CSS, PNGs as base64 data URIs, no scripts, no
external resources, so it opens offline and can be mailed as one file."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from pathlib import Path

from report.headline import Card, Table

CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","WenQuanYi Zen Hei","Microsoft YaHei",
"PingFang SC",system-ui,sans-serif;margin:2rem auto;max-width:1180px;color:#1d2733;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}.meta{color:#5a6775;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #d5dde6;border-radius:8px;padding:.7rem 1rem;min-width:190px;background:#f7f9fc}
.card .label{font-size:.85rem;color:#5a6775}.card .value{font-size:1.5rem;font-weight:600}
.card .detail{font-size:.8rem;color:#5a6775}.bad{color:#b03a2e}.card.bad{border-color:#b03a2e}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}
th,td{padding:.3rem .7rem;border-bottom:1px solid #e1e6ec;text-align:right}
th:first-child,td:first-child{text-align:left}tr.bad td{color:#b03a2e;font-weight:600}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #e1e6ec}
figcaption{font-size:.85rem;color:#5a6775}.notes li{color:#7a5b00}
.verdict{border-left:4px solid #3b7dd8;background:#f2f6fb;padding:.6rem 1rem;line-height:1.55}
.verdict .bad{font-weight:600}.tnote{font-size:.82rem;color:#5a6775;max-width:60rem;margin-top:-.8rem}
"""


@dataclass
class Chart:
    key: str
    caption: str
    png: Path


def _card(c: Card) -> str:
    cls = "card bad" if c.bad else "card"
    return (f'<div class="{cls}"><div class="label">{escape(c.label)}</div>'
            f'<div class="value">{escape(c.value)}</div><div class="detail">{escape(c.detail)}</div></div>')


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    rows = "".join(
        f'<tr{" class=bad" if i in t.bad_rows else ""}>' + "".join(f"<td>{escape(c)}</td>" for c in row)
        + "</tr>" for i, row in enumerate(t.rows))
    note = f'<p class="tnote">{escape(t.note)}</p>' if t.note else ""
    return (f"<h3>{escape(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            + note)


def _figure(chart: Chart) -> str:
    data = base64.b64encode(chart.png.read_bytes()).decode("ascii")
    key, caption = escape(chart.key), escape(chart.caption)
    return (f'<figure id="{key}"><img data-chart="{key}" alt="{caption}" '
            f'src="data:image/png;base64,{data}"><figcaption>{escape(chart.caption)} '
            f"({escape(chart.png.name)})</figcaption></figure>")


def _verdict(sentences: list[str], heading: str) -> str:
    if not sentences:
        return ""
    # a sentence that reports a failure is marked, so it stands out in the paragraph
    body = " ".join(f'<span class="bad">{escape(x)}</span>' if _alarming(x) else escape(x) for x in sentences)
    return f'<section id="verdict"><h2>{escape(heading)}</h2><p class="verdict">{body}</p></section>'


def _alarming(sentence: str) -> bool:
    return any(word in sentence for word in ("MISSES", "SHORT", "未达到", "不足", "超过利用率"))


def _section(section) -> str:
    """A titled section of sentences and its table (report.cascade.Section)."""
    if section is None:
        return ""
    body = " ".join(escape(x) for x in section.paragraphs)
    return (f'<section id="cascade"><h2>{escape(section.heading)}</h2><p class="verdict">{body}</p>'
            f"{_table(section.table)}</section>")


def render(*, lang: str, title: str, meta: str, cards: list[Card], tables: list[Table], charts: list[Chart],
           notes: list[str], headings: dict[str, str], verdict: list[str] | None = None,
           cascade=None) -> str:
    parts = [
        "<!doctype html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1><p class=meta>{escape(meta)}</p>",
        _verdict(verdict or [], headings.get("verdict", "")),
        _section(cascade),
        f'<section id="headline"><h2>{escape(headings["headline"])}</h2>',
        '<div class="cards">' + "".join(_card(c) for c in cards) + "</div>",
        *(_table(t) for t in tables),
        "</section>",
        f'<section id="charts"><h2>{escape(headings["charts"])}</h2>',
        *(_figure(c) for c in charts),
        "</section>",
    ]
    if notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in notes)
        heading = escape(headings["notes"])
        parts.append(f'<section id="notes"><h2>{heading}</h2><ul class=notes>{items}</ul></section>')
    parts.append("</body></html>")
    return "\n".join(parts)
