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
    "title": ("Calibrated model's prediction vs measurement, per endpoint (predicted / measured)",
              "校准模型预测与实测对比，按接口（预测 / 实测）"),
    "tiers_title": ("Calibrated model's prediction vs measurement, per tier", "校准模型预测与实测对比，按层"),
    "endpoint": ("Endpoint", "接口"), "requests": ("Requests", "请求数"), "figure": ("Figure", "指标"),
    "tier_col": ("Tier", "层"), "bar_of": (" (bar {bar})", "（标准{bar}）"),
    "paren": (" ({inner})", "（{inner}）"), "comma": (", ", "，"),
    "predicted": ("Predicted", "预测"), "measured": ("Measured", "实测"),
    "error": ("Error", "误差"), "bar": ("Issue's bar", "议题标准"), "met": ("Met?", "是否达标"),
    "rps": ("throughput, req/s", "吞吐量（次/秒）"), "mean_ms": ("mean latency, ms", "平均延迟（毫秒）"),
    "p50_ms": ("p50 latency, ms", "p50延迟（毫秒）"), "p95_ms": ("p95 latency, ms", "p95延迟（毫秒）"),
    "p99_ms": ("p99 latency, ms", "p99延迟（毫秒）"), "error_rate": ("error rate", "错误率"),
    "utilisation": ("utilisation", "利用率"), "tier": ("{name}", "{name}"),
    "bottleneck": ("{name} (bottleneck: the busiest measured)", "{name}（瓶颈：实测最忙）"),
    "yes": ("met", "达标"), "no": ("MISSED", "未达标"), "no_bar": ("no bar", "无标准"),
    "few": ("(< 1,000: not judged)", "（<1,000：不评判）"), "pp": ("pp", "个百分点"),
    "not_compared": ("Not compared: {reason}", "未比较：{reason}"),
    "summary": ("{met} of {judged} bars met", "{judged}项标准中{met}项达标"),
    "note": ("Each cell: predicted / measured (error, and met or MISSED where the issue sets a bar). "
             "Each figure is compared with the measurement of this load test. The prediction is the "
             "calibrated platform's for the load the target really got (each endpoint's achieved "
             "requests per 10-s bin), the one the gate's prediction_error metrics come from. Error = "
             "predicted ÷ measured − 1; utilisation: predicted − measured, in percentage points. The "
             "issue's bars: throughput within 5%, bottleneck-tier utilisation within 5 percentage points "
             "(held here by every measured tier), mean latency within 10%, p95 within 20%, per endpoint "
             "with at least 1,000 requests; p50, "
             "p99 and the error rate are shown without a bar. {summary}. Calibrated against {calibrated}; "
             "tested {tested}. From {source}.",
             "每格为 预测 / 实测（误差；议题设有标准的指标注明达标或未达标）。"
             "各指标均与本次压测的实测值对比。预测为校准平台在目标实际承受负载下（各接口每10秒实际请求数）的预测，"
             "即门禁 prediction_error 指标所用的预测。误差 = 预测 ÷ 实测 − 1；利用率为预测 − 实测（百分点）。"
             "议题标准：吞吐量误差≤5%，瓶颈层利用率误差≤5个百分点（此处对每个实测层评判），"
             "平均延迟≤10%，p95≤20%，仅对请求数不少于"
             "1,000的接口评判；p50、p99与错误率仅列出，不设标准。{summary}。校准对象：{calibrated}；"
             "测试对象：{tested}。数据来自{source}。"),
    "legend": ("What each figure is compared with (the measurement)", "各指标的比较对象（实测值）"),
    "legend_header": ("Figure: measured as", "指标：实测来源"),
    "legend_row": ("{figure}: {measured}", "{figure}：{measured}"),
    "m_rps": ("the endpoint's requests finished by the target, as Locust counted them over the whole test "
              "(the drain after the replay's end included), ÷ the replay's planned duration. At the achieved "
              "load the prediction's requests are the measured ones, so this error is small by construction; "
              "the model's plan against the target's requests is the table of requests per endpoint",
              "目标完成的该接口请求数（Locust 全程计数，含回放结束后的收尾请求）÷ 回放计划时长。"
              "按实际负载预测时，预测的请求数即实测的请求数，故此误差按构造就小；模型计划与目标实际请求数的对比见"
              "“各接口请求数”表"),
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
    "overload_why": ("Overload, judged alike for both (the level's busiest window): predicted: {predicted}; "
                     "measured: {measured}.",
                     "过载判断（预测与实测同一规则，按该级别最忙时段）——预测：{predicted}；实测：{measured}。"),
    "overload_yes": ("yes", "是"), "overload_no": ("no", "否"),
    "machine": ("The machine: {note}.", "机器：{note}。"),
    "src_summary": ("summary.json", "summary.json"),
    "src_level": ("the bench's level.json", "基准测试的 level.json"),
}


def _text(t: Labels, key: str, **fields: object) -> str:
    return TEXT[key][1 if t.lang == "zh" else 0].format(**fields)


@dataclass
class _Rows:
    """A table's rows, the rows with a bar missed, and the count of bars judged and met."""

    rows: list[list[str]] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)
    judged: int = 0
    met: int = 0

    def add(self, row: list[str], verdicts: list[bool | None]) -> None:
        judged = [v for v in verdicts if v is not None]
        self.judged, self.met = self.judged + len(judged), self.met + sum(judged)
        if False in judged:
            self.bad.add(len(self.rows))
        self.rows.append(row)


def comparison_tables(summary: LoadtestSummary, p: Prediction | None, t: Labels, from_level: bool = False,
                      overload: LevelOverload | None = None) -> list[Table]:
    """Per endpoint, per tier (and the level's overload verdicts), and the legend of what each
    figure is compared with; one line saying why when the test was not comparable."""
    if p is None:
        return []
    if not p.comparable:
        return [Table(_text(t, "title"), [_text(t, "figure")], [[_text(t, "not_compared", reason=p.reason)]])]
    compared = p.compared()
    endpoints, tiers = _Rows(), _Rows()
    counts = {name: e.requests for name, e in summary.endpoints.items() if e.requests}
    for name in sorted(compared.endpoints, key=lambda n: -counts.get(n, 0)):
        if name in counts:
            _endpoint_row(endpoints, name, compared.endpoints[name], counts[name], t)
    _tier_rows(tiers, compared.tiers, t)
    if overload is not None:
        same = overload.predicted == overload.measured
        tiers.add([_text(t, "overload"), _yes_no(overload.predicted, t), _yes_no(overload.measured, t),
                   "–", _text(t, "overload_bar"), _text(t, "yes" if same else "no")], [same])
    met, judged = endpoints.met + tiers.met, endpoints.judged + tiers.judged
    note = _text(t, "note", summary=_text(t, "summary", met=met, judged=judged),
                 calibrated=p.calibrated_target, tested=p.tested_target,
                 source=_text(t, "src_level" if from_level else "src_summary"))
    header = [_text(t, "endpoint"), _text(t, "requests")] + [_heading(f, t) for f in FIGURES]
    tier_header = [_text(t, k) for k in ("tier_col", "predicted", "measured", "error", "bar", "met")]
    return [Table(_text(t, "title"), header, endpoints.rows, bad_rows=endpoints.bad, note=note),
            Table(_text(t, "tiers_title"), tier_header, tiers.rows, bad_rows=tiers.bad,
                  note=_tier_note(p, overload, t)), _legend(t)]


def _tier_note(p: Prediction, overload: LevelOverload | None, t: Labels) -> str:
    """What a tier's measured figure covers where not the whole replay, the host's other work
    against the calibration's where it was busier, and why the level was overloaded or not."""
    parts = [f"{tier}: {note}." for tier, note in p.coverage.items()]
    if p.background is not None and p.background.note:
        parts.append(_text(t, "machine", note=p.background.note))
    if overload is not None:
        parts.append(_text(t, "overload_why", predicted=overload.predicted_why or "–",
                           measured=overload.measured_why or "–"))
    return " ".join(parts)


def _endpoint_row(out: _Rows, name: str, figures: dict[str, FigureRow], requests: int, t: Labels) -> None:
    """One endpoint: per figure "predicted / measured (error, met)"; its requests, and whether
    the bars are judged (>= MIN_REQUESTS)."""
    cells, verdicts = [], []
    for figure in FIGURES:
        row = figures.get(figure)
        verdict = _judge(figure, row, requests) if row is not None else None
        verdicts.append(verdict)
        cells.append(_cell(figure, row, verdict, t))
    few = "" if requests >= MIN_REQUESTS else " " + _text(t, "few")
    out.add([name, f"{requests:,}{few}", *cells], verdicts)


def _cell(figure: str, row: FigureRow | None, verdict: bool | None, t: Labels) -> str:
    if row is None:
        return "–"
    text = f"{_value(figure, row.predicted)} / {_value(figure, row.measured)}"
    notes = [] if row.relative_error is None else [f"{100 * float(row.relative_error):+.1f}%"]
    if verdict is not None:
        notes.append(_text(t, "yes" if verdict else "no"))
    return text + (_text(t, "paren", inner=_text(t, "comma").join(notes)) if notes else "")


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
        out.add([label, f"{float(cell.predicted):.3f}", f"{float(cell.measured):.3f}", error,
                 f"±{BAR_PP:g} {pp}", verdict], [ok])


def _judge(figure: str, row: FigureRow, requests: int) -> bool | None:
    """Within the issue's bar (True/False), or not judged (None: no bar, too few requests, no error)."""
    if figure not in BARS or requests < MIN_REQUESTS or row.relative_error is None:
        return None
    return abs(float(row.relative_error)) <= BARS[figure]


def _heading(figure: str, t: Labels) -> str:
    bar = _text(t, "bar_of", bar=f"±{100 * BARS[figure]:.0f}%") if figure in BARS else ""
    return _text(t, figure) + bar


def _value(figure: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{100 * float(value):.2f}%" if figure == "error_rate" else number(float(value))


def _yes_no(value: bool, t: Labels) -> str:
    return _text(t, "overload_yes" if value else "overload_no")


def _bottleneck(tiers: dict[str, TierRow]) -> str | None:
    """The measured tier busiest by its measurement: the one the issue's utilisation bar is for."""
    measured = {name: float(cell.measured) for name, cell in tiers.items() if cell.measured is not None}
    return max(measured, key=lambda name: measured[name]) if measured else None


def _legend(t: Labels) -> Table:
    """One column (the page right-aligns every column but the first): "figure: measured as"."""
    pairs = [(_text(t, "rps"), "m_rps"), (_text(t, "mean_ms"), "m_mean_ms"),
             (" / ".join(_text(t, k) for k in ("p50_ms", "p95_ms", "p99_ms")), "m_pct"),
             (_text(t, "error_rate"), "m_error_rate"), (_text(t, "utilisation"), "m_utilisation")]
    rows = [[_text(t, "legend_row", figure=figure, measured=_text(t, key))] for figure, key in pairs]
    return Table(_text(t, "legend"), [_text(t, "legend_header")], rows)
