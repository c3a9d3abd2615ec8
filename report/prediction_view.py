"""A load test's page: the model's requests per endpoint against what the target got
(``requests_vs_plan``), read from summary.json as written. The calibrated model's prediction
beside the measurement is ``report.comparison_view``."""

from __future__ import annotations

from records.loadtest import LoadtestSummary, RequestsVsPlan
from report.headline import Table, number
from report.i18n import Labels

# (English, Chinese); kept here: only these tables use them
TEXT = {
    "plan": ("Requests per endpoint: the model's plan vs achieved", "各接口请求数：模型计划与实际完成"),
    "endpoint": ("Endpoint", "接口"), "planned": ("Planned", "计划"), "achieved": ("Achieved", "实际"),
    "ratio": ("Achieved ÷ planned", "实际÷计划"),
    "bins": ("Worst 10-s bin (bins judged)", "最差10秒区间（评判区间数）"),
    "within": ("Every bin within 10%", "每个区间误差≤10%"),
    "yes": ("yes", "是"), "no": ("NO", "否"),
    "noise": ("Bins beyond sampling noise (typical band)", "超出抽样波动的区间数（典型波动带）"),
    "on_plan": ("On the model's plan (stretch and first bin within 10% or noise)",
                "符合模型计划（全时段与首个区间误差≤10%或在波动内）"),
    "plan_note": ("Planned: the model's requests for the replayed minutes, scaled and compressed as the "
                  "replay is. Achieved: the sessions' own requests over the replayed stretch (without the "
                  "drain after its end); Locust's count where the sessions' were not recorded. Bins "
                  "planning fewer than 20 requests are not judged. A bin off by more than 10% may "
                  "still be within sampling noise: the replay and the model are each a sample of "
                  "sessions, and the band is two standard deviations of their difference (from each "
                  "session's requests in the bin).",
                  "计划值：模型在回放时段的请求数，按回放的比例与压缩倍数换算。实际值：各会话在回放时段内自身的请求数"
                  "（不含时段结束后的收尾请求）；未记录时为 Locust 的计数。计划少于20次请求的区间不参与评判。"
                  "误差超过10%的区间仍可能在抽样波动之内：回放与模型各是一组会话样本，波动带为两者之差的两倍标准差"
                  "（由各会话在区间内的请求数算得）。"),
}


def _text(t: Labels, key: str) -> str:
    return TEXT[key][1 if t.lang == "zh" else 0]


def plan_table(summary: LoadtestSummary, t: Labels) -> Table | None:
    rows: list[list[str]] = []
    bad: set[int] = set()
    for name, row in summary.requests_vs_plan.items():
        if row.planned < 1 and row.achieved == 0:
            continue
        # off the plan: beyond sampling noise where that was judged, else a bin beyond 10%
        if row.on_plan is False or (row.on_plan is None and row.within_10pct is False):
            bad.add(len(rows))
        rows.append(_plan_row(name, row, t))
    if not rows:
        return None
    header = [_text(t, k) for k in ("endpoint", "planned", "achieved", "ratio", "bins", "within", "noise",
                                    "on_plan")]
    return Table(_text(t, "plan"), header, rows, bad_rows=bad, note=_text(t, "plan_note"))


def _plan_row(name: str, row: RequestsVsPlan, t: Labels) -> list[str]:
    """Achieved: the sessions' own requests over the replayed stretch where known (Locust's count
    also holds the drain after the stretch's end and the resumed sessions' set-up), else Locust's."""
    worst = f"{100 * row.max_bin_error:.0f}% ({row.bins_judged})" if row.max_bin_error is not None else "–"
    within = "–" if row.within_10pct is None else _text(t, "yes" if row.within_10pct else "no")
    stretch = row.in_stretch is not None
    got, ratio = (row.in_stretch, row.stretch_ratio) if stretch else (row.achieved, row.ratio)
    on_plan = "–" if row.on_plan is None else _text(t, "yes" if row.on_plan else "no")
    return [name, number(row.planned), number(got), f"{ratio:.2f}×" if ratio is not None else "–", worst,
            within, _noise(row), on_plan]


def _noise(row: RequestsVsPlan) -> str:
    """Judged bins outside the sampling band, and the band's median width relative to the plan."""
    if row.band_typical is None:
        return "–"
    return f"{len(row.bins_outside_band)} (±{100 * row.band_typical:.0f}%)"
