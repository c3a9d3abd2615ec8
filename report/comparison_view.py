"""A load test's page: the calibrated model's prediction beside the measurement, per endpoint
(throughput, mean, p50, p95, p99, error rate) and per tier (utilisation), each marked against
the issue's bar where it has one, and what each figure is compared with. Read from
``summary.json`` ``prediction`` (``yanxiu loadtest --platform``) or a bench level's
``level.json`` (``records.level``), as written."""

from __future__ import annotations

from dataclasses import dataclass, field

from records.level import LevelOverload
from records.loadtest import LoadtestSummary
from records.prediction import FIGURES, FigureRow, Prediction, TierRow
from report.headline import Table, number
from report.i18n import Labels

MIN_REQUESTS = 1000  # the bars hold per endpoint with at least this many requests
BARS = {"rps": 0.05, "mean_ms": 0.10, "p95_ms": 0.20}  # |predicted / measured - 1|
BAR_PP = 5.0  # a tier's utilisation, percentage points

# (English, Chinese)
TEXT = {
    "title": ("Calibrated model's prediction vs measurement, per endpoint and tier",
              "校准模型预测与实测对比（按接口与层）"),
    "endpoint": ("Endpoint / tier", "接口 / 层"), "figure": ("Figure", "指标"),
    "predicted": ("Predicted", "预测"), "measured": ("Measured", "实测"),
    "error": ("Error", "误差"), "bar": ("Issue's bar", "议题标准"), "met": ("Met?", "是否达标"),
    "rps": ("throughput, req/s", "吞吐量（次/秒）"), "mean_ms": ("mean latency, ms", "平均延迟（毫秒）"),
    "p50_ms": ("p50 latency, ms", "p50延迟（毫秒）"), "p95_ms": ("p95 latency, ms", "p95延迟（毫秒）"),
    "p99_ms": ("p99 latency, ms", "p99延迟（毫秒）"), "error_rate": ("error rate", "错误率"),
    "utilisation": ("utilisation", "利用率"), "tier": ("tier {name}", "层 {name}"),
    "bottleneck": ("tier {name} (bottleneck)", "层 {name}（瓶颈）"),
    "yes": ("met", "达标"), "no": ("MISSED", "未达标"), "no_bar": ("no bar", "无标准"),
    "few": ("not judged: {n} requests (< 1,000)", "不评判：{n}次请求（<1,000）"),
    "no_error": ("no error: {why}", "无误差：{why}"), "pp": ("pp", "个百分点"),
    "not_compared": ("Not compared: {reason}", "未比较：{reason}"),
    "summary": ("{met} of {judged} bars met", "{judged}项标准中{met}项达标"),
    "note": ("Each figure is compared with the measurement of this load test. The prediction is the "
             "calibrated platform's for the load the target really got (each endpoint's achieved "
             "requests per 10-s bin), the one the gate's prediction_error metrics come from. Error = "
             "predicted ÷ measured − 1; utilisation: predicted − measured, in percentage points. The "
             "issue's bars: throughput within 5%, bottleneck-tier utilisation within 5 percentage points "
             "(held here by every measured tier), mean latency within 10%, p95 within 20%, per endpoint "
             "with at least 1,000 requests; p50, "
             "p99 and the error rate are shown without a bar. {summary}. Calibrated against {calibrated}; "
             "tested {tested}. From {source}.",
             "各指标均与本次压测的实测值对比。预测为校准平台在目标实际承受负载下（各接口每10秒实际请求数）的预测，"
             "即门禁 prediction_error 指标所用的预测。误差 = 预测 ÷ 实测 − 1；利用率为预测 − 实测（百分点）。"
             "议题标准：吞吐量误差≤5%，瓶颈层利用率误差≤5个百分点（此处对每个实测层评判），平均延迟≤10%，p95≤20%，仅对请求数不少于"
             "1,000的接口评判；p50、p99与错误率仅列出，不设标准。{summary}。校准对象：{calibrated}；"
             "测试对象：{tested}。数据来自{source}。"),
    "legend": ("What each figure is compared with (the measurement)", "各指标的比较对象（实测值）"),
    "legend_figure": ("Figure", "指标"), "legend_measured": ("Measured as", "实测来源"),
    "m_rps": ("the endpoint's requests finished by the target, as Locust counted them over the whole test, "
              "÷ the replay's planned duration", "目标完成的该接口请求数（Locust 全程计数）÷ 回放计划时长"),
    "m_mean_ms": ("Locust's mean response time of the endpoint (stats.csv): at the client, request sent "
                  "to response received",
                  "Locust 统计的该接口平均响应时间（stats.csv）：客户端从发出请求到收到响应"),
    "m_pct": ("Locust's percentiles of the endpoint's response times over the test",
              "Locust 统计的该接口全程响应时间分位数"),
    "m_error_rate": ("Locust's failed requests ÷ requests of the endpoint",
                     "Locust 统计的该接口失败请求数 ÷ 请求数"),
    "m_utilisation": ("the tier's busy time over the replay, read as the calibration reads it (api: the "
                      "server processes' CPU; database: the SQLite group commits' write-lock time, or the "
                      "PostgreSQL server's CPU), over the tier's servers",
                      "回放期间该层的忙碌时间，按校准的方式测得（api：服务进程的CPU；"
                      "数据库：SQLite 组提交持有写锁的时间，或 PostgreSQL 服务器的CPU），除以该层服务器数"),
    "overload": ("overloaded (p95, errors or a growing queue)", "过载（p95、错误或队列增长）"),
    "overload_bar": ("predicted = measured", "预测与实测一致"),
    "overload_yes": ("yes", "是"), "overload_no": ("no", "否"),
    "src_summary": ("summary.json", "summary.json"),
    "src_level": ("the bench's level.json", "基准测试的 level.json"),
}


def _text(t: Labels, key: str, **fields: object) -> str:
    return TEXT[key][1 if t.lang == "zh" else 0].format(**fields)


@dataclass
class _Rows:
    """The table's rows, the rows that missed their bar, and the count of bars judged and met."""

    rows: list[list[str]] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)
    judged: int = 0
    met: int = 0

    def add(self, row: list[str], verdict: bool | None) -> None:
        if verdict is not None:
            self.judged, self.met = self.judged + 1, self.met + verdict
        if verdict is False:
            self.bad.add(len(self.rows))
        self.rows.append(row)


def comparison_tables(summary: LoadtestSummary, p: Prediction | None, t: Labels, from_level: bool = False,
                      overload: LevelOverload | None = None) -> list[Table]:
    """The comparison table and its legend; one line saying why when not comparable."""
    if p is None:
        return []
    title = _text(t, "title")
    if not p.comparable:
        return [Table(title, [_text(t, "figure")], [[_text(t, "not_compared", reason=p.reason)]])]
    out = _Rows()
    compared = p.compared()
    for name, figures in compared.endpoints.items():
        measured = summary.endpoints.get(name)
        if measured is not None and measured.requests:
            _endpoint_rows(out, name, figures, measured.requests, t)
    _tier_rows(out, compared.tiers, t)
    if overload is not None:
        same = overload.predicted == overload.measured
        out.add(["–", _text(t, "overload"), _yes_no(overload.predicted, t), _yes_no(overload.measured, t),
                 "–", _text(t, "overload_bar"), _text(t, "yes" if same else "no")], same)
    header = [_text(t, k) for k in ("endpoint", "figure", "predicted", "measured", "error", "bar", "met")]
    note = _text(t, "note", summary=_text(t, "summary", met=out.met, judged=out.judged),
                 calibrated=p.calibrated_target, tested=p.tested_target,
                 source=_text(t, "src_level" if from_level else "src_summary"))
    return [Table(title, header, out.rows, bad_rows=out.bad, note=note), _legend(t)]


def _endpoint_rows(out: _Rows, name: str, figures: dict[str, FigureRow], requests: int, t: Labels) -> None:
    for figure in FIGURES:
        row = figures.get(figure)
        if row is None:
            continue
        verdict = _judge(figure, row, requests)
        out.add([name, _text(t, figure), _value(figure, row.predicted), _value(figure, row.measured),
                 _error(row), _bar(figure, t), _verdict(verdict, figure, row, requests, t)], verdict)


def _tier_rows(out: _Rows, tiers: dict[str, TierRow], t: Labels) -> None:
    bottleneck = _bottleneck(tiers)
    pp = _text(t, "pp")
    for tier, cell in tiers.items():
        if cell.measured is None:
            continue
        ok = None if cell.error_pp is None else abs(float(cell.error_pp)) <= BAR_PP
        error = "–" if cell.error_pp is None else f"{float(cell.error_pp):+.1f} {pp}"
        label = _text(t, "bottleneck" if tier == bottleneck else "tier", name=tier)
        verdict = _text(t, "no_bar") if ok is None else _text(t, "yes" if ok else "no")
        out.add([label, _text(t, "utilisation"), f"{float(cell.predicted):.3f}",
                 f"{float(cell.measured):.3f}", error, f"±{BAR_PP:g} {pp}", verdict], ok)


def _judge(figure: str, row: FigureRow, requests: int) -> bool | None:
    """Within the issue's bar (True/False), or not judged (None: no bar, too few requests, no error)."""
    if figure not in BARS or requests < MIN_REQUESTS or row.relative_error is None:
        return None
    return abs(float(row.relative_error)) <= BARS[figure]


def _verdict(verdict: bool | None, figure: str, row: FigureRow, requests: int, t: Labels) -> str:
    if verdict is not None:
        return _text(t, "yes" if verdict else "no")
    if figure in BARS and requests < MIN_REQUESTS:
        return _text(t, "few", n=f"{requests:,}")
    if figure in BARS and row.why_no_error:
        return _text(t, "no_error", why=row.why_no_error)
    return "–"


def _value(figure: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{100 * float(value):.2f}%" if figure == "error_rate" else number(float(value))


def _error(row: FigureRow) -> str:
    if row.relative_error is not None:
        return f"{100 * float(row.relative_error):+.1f}%"
    return "–"


def _bar(figure: str, t: Labels) -> str:
    return f"±{100 * BARS[figure]:.0f}%" if figure in BARS else _text(t, "no_bar")


def _yes_no(value: bool, t: Labels) -> str:
    return _text(t, "overload_yes" if value else "overload_no")


def _bottleneck(tiers: dict[str, TierRow]) -> str | None:
    """The measured tier busiest by its measurement: the one the issue's utilisation bar is for."""
    measured = {name: float(cell.measured) for name, cell in tiers.items() if cell.measured is not None}
    return max(measured, key=lambda name: measured[name]) if measured else None


def _legend(t: Labels) -> Table:
    rows = [[_text(t, "rps"), _text(t, "m_rps")], [_text(t, "mean_ms"), _text(t, "m_mean_ms")],
            [" / ".join(_text(t, k) for k in ("p50_ms", "p95_ms", "p99_ms")), _text(t, "m_pct")],
            [_text(t, "error_rate"), _text(t, "m_error_rate")],
            [_text(t, "utilisation"), _text(t, "m_utilisation")]]
    return Table(_text(t, "legend"), [_text(t, "legend_figure"), _text(t, "legend_measured")], rows)
