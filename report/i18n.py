"""Report text in English and Chinese. Chart text falls back to English when no CJK font is
found (report.fonts); the page itself stays in the language asked for."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "title_model": ("Capacity report: {name}", "容量报告：{name}"),
    "title_loadtest": ("Load-test report: {name}", "压测报告：{name}"),
    "headline": ("Headline figures", "关键指标"),
    "peak_rps": ("Peak requests/s", "峰值请求数/秒"),
    "peak_viewers": ("Concurrent video viewers (peak)", "同时观看视频人数（峰值）"),
    "peak_sessions": ("Concurrent study sessions (peak)", "同时在线学习人数（峰值）"),
    "peak_bandwidth": ("Video bandwidth (peak)", "视频带宽（峰值）"),
    "peak_sms": ("SMS/s (peak)", "短信/秒（峰值）"),
    "certified": ("Teachers certified by the deadline", "截止前获得证书的教师"),
    "at": ("at", "于"),
    "capacity": ("Capacity needed per tier vs provided", "各层所需容量与现有容量"),
    "tier": ("Tier", "层"),
    "needed": ("Needed", "所需"),
    "provided": ("Provided", "现有"),
    "margin": ("Margin", "余量"),
    "busiest": ("Busiest minute", "最忙时刻"),
    "enough": ("enough", "充足"),
    "short": ("SHORT", "不足"),
    "slo": ("SLO compliance", "服务水平达标情况"),
    "p95_worst": ("p95 over the run", "全程 p95"),
    "target": ("Target p95", "目标 p95"),
    "compliant_share": ("Minutes within target", "达标分钟占比"),
    "peak_util": ("Peak utilisation", "峰值利用率"),
    "util_cap": ("Utilisation cap", "利用率上限"),
    "met": ("met", "达标"),
    "missed": ("MISSED", "未达标"),
    "charts": ("Charts", "图表"),
    "notes": ("Notes", "说明"),
    # chart text
    "rps_window": ("Requests/s across the study window", "整个学习期间的每秒请求数"),
    "requests_per_s": ("requests/s", "请求/秒"),
    "hourly_peak": ("hourly peak", "每小时峰值"),
    "hourly_mean": ("hourly mean", "每小时均值"),
    "course_opens": ("course {id} opens", "课程{id}开放"),
    "courses_open": ("courses {ids} open", "课程{ids}开放"),
    "holiday": ("holiday", "节假日"),
    "winter_break": ("winter break", "寒假"),
    "wave": ("mobilisation wave", "动员推进"),
    "deadline": ("deadline", "截止"),
    "heatmap": ("Mean requests/s by day and hour", "按日期和小时的平均每秒请求数"),
    "hour": ("hour of day", "小时"),
    "day": ("day", "日期"),
    "concurrency": ("Concurrent sessions and viewers", "同时在线学习与观看人数"),
    "people": ("people", "人"),
    "sessions": ("study sessions", "学习会话"),
    "viewers": ("video viewers", "视频观看"),
    "bandwidth": ("Video egress bandwidth", "视频出口带宽"),
    "capacity_line": ("capacity {name}", "容量 {name}"),
    "utilisation": ("Tier utilisation (hourly peak)", "各层利用率（每小时峰值）"),
    "utilisation_axis": ("utilisation", "利用率"),
    "slo_cap": ("{name} cap", "{name} 上限"),
    "latency": ("Latency percentiles per tier (hourly peak)", "各层延迟百分位（每小时峰值）"),
    "latency_ms": ("latency (ms)", "延迟（毫秒）"),
    "funnel": ("Completion funnel", "完成漏斗"),
    "teachers": ("teachers", "教师"),
    "participants": ("taking part", "参与"),
    "registered": ("registered", "已注册"),
    "completed_course": ("passed course {id}", "通过课程{id}"),
    "completed_all": ("completed all", "全部完成"),
    "certified_short": ("certified", "获得证书"),
    "certified_by_day": ("Certified by day (cumulative)", "逐日获得证书人数（累计）"),
    "attempts": ("Test attempts until full marks", "获得满分所需测试次数"),
    "attempts_axis": ("attempts", "次数"),
    "course": ("course {id}", "课程{id}"),
    # load test
    "lt_throughput": ("Requests/s and errors over time", "每秒请求数与错误随时间变化"),
    "elapsed": ("elapsed (s)", "已用时间（秒）"),
    "failures_per_s": ("failures/s", "失败/秒"),
    "users": ("users", "用户数"),
    "lt_latency": ("Response time percentiles over time", "响应时间百分位随时间变化"),
    "lt_arrivals": ("Planned vs achieved arrivals", "计划与实际到达数"),
    "planned": ("planned", "计划"),
    "achieved": ("achieved", "实际"),
    "bin": ("bin", "时间段"),
    "arrivals_axis": ("arrivals", "到达数"),
    "lt_model": ("Model prediction vs measurement", "模型预测与实测对比"),
    "model": ("model", "模型"),
    "measured": ("measured", "实测"),
    "metric": ("Metric", "指标"),
    "lt_headline_rps": ("Requests/s (peak)", "每秒请求数（峰值）"),
    "error_rate": ("Error rate", "错误率"),
    "trustworthy": ("Generator trustworthy", "压测机可信"),
    "arrival_error": ("Largest arrival-bin error", "最大到达偏差"),
    "endpoints": ("Endpoints", "接口"),
    # open-workload experiment
    "title_workload": ("Queueing experiment: {name}", "排队实验：{name}"),
    "replications": ("replications", "次重复"),
    "replication": ("replication", "重复序号"),
    "replication_values": ("one replication", "单次重复"),
    "theory": ("theory", "理论值"),
    "ci95": ("95% CI", "95% 置信区间"),
    "relative_error": ("Relative error", "相对误差"),
    "theory_in_ci": ("Theory inside the CI", "理论值在区间内"),
    "workload_tier": ("Tier {name}: measured vs queueing theory (Erlang C / Allen-Cunneen)",
                      "{name} 层：实测与排队论（Erlang C / Allen-Cunneen）对比"),
    "mean_wait": ("mean wait", "平均等待"),
    "mean_response": ("mean time in tier", "平均停留时间"),
    "in_system": ("mean number in tier", "平均在层请求数"),
    "p50": ("p50 latency", "p50 延迟"),
    "p95": ("p95 latency", "p95 延迟"),
    "p99": ("p99 latency", "p99 延迟"),
    "workload_replications": ("Replications against the theory", "各次重复与理论值对比"),
    "confirmation": ("Request-level check of the busiest minute {name} (model / simulated, 95% CI)",
                     "最忙时刻 {name} 的请求级仿真核对（模型 / 仿真，95% 置信区间）"),
    "requests": ("Requests", "请求数"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "no_font": ("no CJK font found (install fonts-noto-cjk); chart text is in English",
                "未找到中文字体（请安装 fonts-noto-cjk），图表文字使用英文"),
}
LANGS = ("en", "zh")


def text(key: str, lang: str, **fields: object) -> str:
    english, chinese = STRINGS[key]
    return (chinese if lang == "zh" else english).format(**fields)


class Labels:
    """Bound to one language: ``t("rps_window")``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **fields: object) -> str:
        return text(key, self.lang, **fields)
