"""A load test's page: the model's requests per endpoint against what the target got
(``requests_vs_plan``), and the calibrated model's prediction beside the measurement
(``prediction``, with ``yanxiu loadtest --platform``); both read from summary.json as written."""

from __future__ import annotations

from records.loadtest import LoadtestSummary, Prediction, RequestsVsPlan
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
    "plan_note": ("Planned: the model's requests for the replayed minutes, scaled and compressed as the "
                  "replay is. Bins planning fewer than 20 requests are not judged. A bin off by more than "
                  "10% may still be within sampling noise: the replay and the model are each a sample of "
                  "sessions, and the band is two standard deviations of their difference (from each "
                  "session's requests in the bin).",
                  "计划值：模型在回放时段的请求数，按回放的比例与压缩倍数换算。计划少于20次请求的区间不参与评判。"
                  "误差超过10%的区间仍可能在抽样波动之内：回放与模型各是一组会话样本，波动带为两者之差的两倍标准差"
                  "（由各会话在区间内的请求数算得）。"),
    "prediction": ("Calibrated model's prediction vs measurement", "校准模型预测与实测对比"),
    "figure": ("Figure", "指标"), "predicted": ("Predicted", "预测"), "measured": ("Measured", "实测"),
    "error": ("Error", "误差"),
    "not_compared": ("Not compared: {reason}", "未比较：{reason}"),
    "prediction_note": ("At the load the target really got (each endpoint's achieved requests per 10-s bin); "
                        "latency errors only for endpoints with at least 1,000 requests. Calibrated against "
                        "{calibrated}; tested {tested}.",
                        "按目标实际承受的负载（各接口每10秒实际请求数）预测；仅对请求数不少于1,000的接口给出延迟误差。"
                        "校准对象：{calibrated}；测试对象：{tested}。"),
}
FIGURES = (("rps", "req/s"), ("mean_ms", "mean ms"), ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"))


def _text(t: Labels, key: str) -> str:
    return TEXT[key][1 if t.lang == "zh" else 0]


def plan_table(summary: LoadtestSummary, t: Labels) -> Table | None:
    rows: list[list[str]] = []
    bad: set[int] = set()
    for name, row in summary.requests_vs_plan.items():
        if row.planned < 1 and row.achieved == 0:
            continue
        if row.within_10pct is False:
            bad.add(len(rows))
        rows.append(_plan_row(name, row, t))
    if not rows:
        return None
    header = [_text(t, k) for k in ("endpoint", "planned", "achieved", "ratio", "bins", "within", "noise")]
    return Table(_text(t, "plan"), header, rows, bad_rows=bad, note=_text(t, "plan_note"))


def _plan_row(name: str, row: RequestsVsPlan, t: Labels) -> list[str]:
    worst = f"{100 * row.max_bin_error:.0f}% ({row.bins_judged})" if row.max_bin_error is not None else "–"
    within = "–" if row.within_10pct is None else _text(t, "yes" if row.within_10pct else "no")
    ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
    return [name, number(row.planned), number(row.achieved), ratio, worst, within, _noise(row)]


def _noise(row: RequestsVsPlan) -> str:
    """Judged bins outside the sampling band, and the band's median width relative to the plan."""
    if row.band_typical is None:
        return "–"
    return f"{len(row.bins_outside_band)} (±{100 * row.band_typical:.0f}%)"


def prediction_table(summary: LoadtestSummary, t: Labels) -> Table | None:
    p: Prediction | None = summary.prediction
    if p is None:
        return None
    title = _text(t, "prediction")
    if not p.comparable:
        return Table(title, [_text(t, "figure")], [[_text(t, "not_compared").format(reason=p.reason)]])
    endpoints = p.at_achieved.get("endpoints") or p.endpoints
    tiers = p.at_achieved.get("tiers") or p.tiers
    rows = []
    for name, figures in endpoints.items():
        for key, label in FIGURES:
            cell = figures.get(key) or {}
            if cell.get("measured") is None:
                continue
            error = cell.get("relative_error")
            rows.append([f"{name} {label}", number(cell.get("predicted")), number(cell.get("measured")),
                         f"{100 * error:+.0f}%" if error is not None else cell.get("why_no_error", "–")])
    for tier, cell in tiers.items():
        if cell.get("measured") is None:
            continue
        error_pp = cell.get("error_pp")
        rows.append([f"utilisation {tier}", f"{cell['predicted']:.3f}", f"{cell['measured']:.3f}",
                     f"{error_pp:+.1f} pp" if error_pp is not None else "–"])
    header = [_text(t, k) for k in ("figure", "predicted", "measured", "error")]
    note = _text(t, "prediction_note").format(calibrated=p.calibrated_target, tested=p.tested_target)
    return Table(title, header, rows, note=note)
