"""The report's ranges table: every peak and capacity need of a run with ``--ranges`` as its
median and 90% interval over posterior draws, and the parameter driving it (docs/fit.md)."""

from __future__ import annotations

from report.headline import Table, number
from report.i18n import Labels

# (English, Chinese); kept here: only this table uses them
TEXT = {
    "title": ("Peaks and capacity as ranges (behaviour uncertainty and seed noise)",
              "峰值与容量区间（行为参数不确定性与随机种子）"),
    "figure": ("Figure", "指标"), "central": ("Median", "中位数"), "interval": ("90% interval", "90%区间"),
    "driver": ("Main driver (rank correlation)", "主要影响参数（秩相关）"),
    "note": ("{draws} runs, each with parameters drawn from {posterior} and its own seed.",
             "共{draws}次运行，每次从{posterior}抽取参数并使用独立随机种子。"),
}
ORDER = ("peak(sessions)", "peak(viewers)", "peak(rps.total)", "peak(rps.heartbeat)", "peak(egress_gbps)")


def ranges_table(data, t: Labels) -> Table | None:
    ranges = getattr(data.summary, "ranges", None)
    if ranges is None or not ranges.figures:
        return None
    zh = 1 if t.lang == "zh" else 0
    keys = [k for k in ORDER if k in ranges.figures]
    keys += sorted(k for k in ranges.figures if k.startswith("capacity("))
    rows = []
    for key in keys:
        r = ranges.figures[key]
        rho = r.sensitivity.get(r.driver.split(" = ")[0], 0.0) if r.driver else 0.0
        driver = f"{r.driver} ({rho:+.2f})" if r.driver else "–"
        rows.append([key, number(r.central), f"{number(r.p05)} – {number(r.p95)}", driver])
    header = [TEXT[k][zh] for k in ("figure", "central", "interval", "driver")]
    note = TEXT["note"][zh].format(draws=ranges.draws, posterior=ranges.posterior)
    return Table(TEXT["title"][zh], header, rows, note=note)
