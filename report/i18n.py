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
    "needed": ("Plan (with headroom)", "规划容量（含余量）"),
    "minimum": ("Minimum (keeps latency targets)", "最低容量（保持延迟目标）"),
    "capacity_note": ("The plan meets every service level, the utilisation cap's headroom included; "
                      "below the minimum the busiest minutes' requests wait past their latency targets "
                      "and teachers are hurt. Margin is provided against the plan.",
                      "规划容量满足全部服务水平，并含利用率上限留出的余量；低于最低容量时，最忙时段的请求"
                      "等待超过延迟目标，教师受到影响。余量按现有容量相对规划容量计算。"),
    "short_of_headroom": ("short of headroom", "余量不足"),
    "below_minimum": ("SHORT: below the minimum", "不足：低于最低容量"),
    "provided": ("Provided", "现有"),
    "margin": ("Margin", "余量"),
    "busiest": ("Busiest minute", "最忙时刻"),
    "enough": ("enough", "充足"),
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
    "lt_model_run": ("The model run's figures vs this test's (the scenario's platform as written, not a "
                     "calibrated one)", "模型运行结果与本次压测对比（场景原有平台，非校准平台）"),
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
    # the verdict (report.verdict)
    "verdict": ("Verdict", "结论"),
    "v_who": ("{participants} of {teachers} teachers ({share}) take part between {start} and the deadline "
              "{last}; {completed} of them complete the study by then, and certificates are issued from "
              "{issued}.",
              "{teachers} 名教师中有 {participants}（{share}）在 {start} 至截止日 {last} 期间参加学习；"
              "其中 {completed} 在截止前完成，证书自 {issued} 起颁发。"),
    "v_peak": ("The load peaks at {rps} requests/s on {weekday} {at}, with {sessions} concurrent study "
               "sessions and {gbps} Gbps of video.",
               "负载峰值出现在 {at}（{weekday}），每秒 {rps} 个请求，同时在线学习 {sessions} 人，"
               "视频带宽 {gbps} Gbps。"),
    "v_what_if": ("This is a what-if, not the platform the scenario describes: {items}.",
                  "本次为假设情景，并非情景文件描述的平台：{items}。"),
    "v_what_if_own_load": ("The needs named below are this run's own, measured on its load, which the "
                           "retries and the teachers coming back later raise.",
                           "下文各项需求按本次运行自身的负载测得，重试和教师稍后返回会使负载升高。"),
    "v_what_if_share": ("{tier} at {size}, {share} (measured in a run with the scenario's {scenario})",
                        "{tier} 设为 {size}，即{share}（在情景原有 {scenario}下测得）"),
    "v_what_if_size": ("{tier} at {size} instead of {scenario}", "{tier} 设为 {size}，原为 {scenario}"),
    "v_of_need": ("{percent} of its plan with headroom, {base}", "含余量规划容量 {base}的 {percent}"),
    "v_of_min": ("{percent} of the {base} that keep its latency targets",
                 "保持延迟目标所需最低容量 {base}的 {percent}"),
    "v_tier_held": ("{tier} holds: it needs {needed} of the {provided} provided ({headroom} headroom).",
                    "{tier} 能够承受：需要 {needed}，现有 {provided}（余量 {headroom}）。"),
    "v_tier_short": ("{tier} is SHORT: it needs {needed} but has {provided}.",
                     "{tier} 容量不足：需要 {needed}，现有仅 {provided}。"),
    "v_tier_below_min": ("{tier} is SHORT: it keeps its latency targets down to {minimum}, and has only "
                         "{provided}; the plan with {headroom} headroom is {needed}.",
                         "{tier} 容量不足：它最少需要 {minimum}才能保持延迟目标，现有仅 {provided}；"
                         "留 {headroom} 余量的规划容量为 {needed}。"),
    "v_tier_no_headroom": ("{tier} is SHORT of headroom: it keeps its latency targets down to {minimum} and "
                           "has {provided}, but the plan with {headroom} headroom is {needed}.",
                           "{tier} 余量不足：它最少需要 {minimum}即可保持延迟目标，现有 {provided}，"
                           "但留 {headroom} 余量的规划容量为 {needed}。"),
    "v_short_no_loss": ("Short as it is, no teacher is turned away: at the busiest minute {tiers}, so "
                        "requests wait longer but none waits past the teachers' patience ({patience} s). "
                        "What is missing is the safety margin the service levels ask for, not service.",
                        "尽管容量不足，但没有教师被拒之门外：最忙的一分钟里{tiers}，请求等待更久，但没有超过"
                        "教师的耐心（{patience} 秒）。缺少的是服务水平要求的安全余量，而不是服务本身。"),
    "v_short_slow_no_loss": ("Below its minimum, requests at the busiest minutes wait past their latency "
                             "targets ({tiers}), yet none waits past the teachers' patience ({patience} s): "
                             "teachers wait longer, nobody gives up.",
                             "低于最低容量时，最忙时段的请求等待超过延迟目标（{tiers}），但没有超过教师的耐心"
                             "（{patience} 秒）：教师等得更久，但没有人放弃。"),
    "v_short_tier_busy": ("{tier} runs at {util} (cap {cap}, worst-minute p95 {worst} ms)",
                          "{tier} 利用率 {util}（上限 {cap}，最差一分钟 p95 {worst} 毫秒）"),
    "v_short_loss": ("Because of it, {lost} study sessions were given up ({teachers} teachers); those "
                     "teachers came back {hours} h later on average, and {retries} requests were sent again "
                     "(see \"When the platform could not keep up\" below).",
                     "因此有 {lost} 个学习会话被放弃（涉及 {teachers} 名教师）；"
                     "这些教师平均 {hours} 小时后回来，另有 {retries} 个请求被重发"
                     "（见下文“平台不堪重负时发生了什么”）。"),
    "v_tier_missed": ("{tier} MISSES its service level: {share} of its {judged} judged minutes have a p95 "
                      "above target (worst minute {worst} ms against {target} ms).",
                      "{tier} 未达到服务水平：在 {judged} 个参与评判的分钟中有 {share} 的 p95 超过目标"
                      "（最差一分钟 {worst} 毫秒，目标 {target} 毫秒）。"),
    "v_tier_missed_util": ("{tier} MISSES its utilisation cap: peak {peak} against {cap}.",
                           "{tier} 超过利用率上限：峰值 {peak}，上限 {cap}。"),
    "v_not_capacity": ("With utilisation at most {peak}, queueing is not the cause: those minutes are "
                       "slow requests, and more servers will not fix them.",
                       "利用率最高仅 {peak}，原因不在排队，而在这些分钟的请求本身较慢，增加服务器无法解决。"),
    "v_missed_mostly": ("They are mostly {endpoint} requests ({share} of the tier's requests in those "
                        "minutes, {demand} ms each as the scenario has it); {requests} of all its "
                        "requests fell in minutes within target.",
                        "这些分钟的请求主要是 {endpoint}（占该层这些分钟请求的 {share}，"
                        "场景设定每个 {demand} 毫秒）；该层全部请求中有 {requests} 落在达标的分钟内。"),
    "v_provision": ("Provision with a {margin} margin over the busiest minute: {items}.",
                    "建议在最忙时刻所需基础上留 {margin} 余量：{items}。"),
    "list_sep": (", ", "，"),
    "v_sample": ("The model is a weighted sample: {simulated} teachers simulated one by one, each standing "
                 "for about {weight}; peaks carry the sampling error docs/model.md states.",
                 "模型采用加权抽样：逐个仿真 {simulated} 名教师，每人约代表 {weight} 人；"
                 "峰值含 docs/model.md 所述的抽样误差。"),
    "v_replications": ("Over {count} replications the peak requests/s lies in {interval} (95% interval).",
                       "{count} 次重复仿真中，峰值每秒请求数的 95% 区间为 {interval}。"),
    "v_single_run": ("This is a single run, so it has no interval for seed noise; run with --replications 5 "
                     "for 95% intervals.",
                     "本次为单次仿真，没有随机种子误差区间；使用 --replications 5 可得到 95% 区间。"),
    "v_ranges": ("Peaks and capacity needs also have 90% ranges from the fitted behaviour (see the table).",
                 "峰值与容量需求另有基于拟合行为参数的 90% 范围（见表）。"),
    "v_confirmed": ("A request-level simulation of the busiest minute agrees with the tier model within "
                    "{error} on p95.",
                    "对最忙一分钟的请求级仿真与分层模型的 p95 相差不超过 {error}。"),
    "v_confirm_off": ("A request-level simulation of the busiest minute differs from the tier model by up to "
                      "{error} on p95: treat latency figures with care.",
                      "对最忙一分钟的请求级仿真与分层模型的 p95 相差达 {error}，延迟数字需谨慎看待。"),
    "after_window": ("after the window", "学习期结束后"),
    "weekday_0": ("Monday", "星期一"), "weekday_1": ("Tuesday", "星期二"),
    "weekday_2": ("Wednesday", "星期三"), "weekday_3": ("Thursday", "星期四"),
    "weekday_4": ("Friday", "星期五"), "weekday_5": ("Saturday", "星期六"), "weekday_6": ("Sunday", "星期日"),
    # outcome cards
    "card_participants": ("Teachers taking part", "参加学习的教师"),
    "card_participants_detail": ("{share} of {teachers} teachers · {start} – {last}",
                                 "占 {teachers} 名教师的 {share} · {start} 至 {last}"),
    "card_completed": ("Completed by the deadline", "截止前完成学习"),
    "card_of_participants": ("{share} of participants · by {date}", "占参加者的 {share} · 截至 {date}"),
    "card_certified": ("Certificates issued", "颁发证书"),
    "card_certified_detail": ("{share} of participants · from {date}, after the deadline",
                              "占参加者的 {share} · {date} 起颁发（截止日之后）"),
    # units (report.numbers.amount)
    "unit_servers": ("servers", "台服务器"), "unit_servers_one": ("server", "台服务器"),
    "unit_Gbps": ("Gbps", "Gbps"), "unit_Gbps_one": ("Gbps", "Gbps"),
    "unit_teachers": ("teachers", "名教师"), "unit_teachers_one": ("teacher", "名教师"),
    "meta_seed": ("seed", "随机种子"),
    "meta_teachers": ("teachers", "名教师"),
    # SLO table and charts (report.slo_view)
    "worst_minute": ("Worst judged minute p95", "最差评判分钟 p95"),
    "judged_minutes": ("Judged minutes", "评判分钟数"),
    "slo_rule": ("Judging rule: a minute is judged when the tier serves at least {rps} request/s (fewer are "
                 "too few for a percentile); a tier meets its service level when every judged minute is "
                 "within every latency target and its peak utilisation stays within the cap. MISSED here "
                 "fails yanxiu check.",
                 "评判规则：某层在一分钟内至少处理 {rps} 个请求/秒时该分钟参与评判"
                 "（请求过少无法计算百分位）；所有评判分钟都满足全部延迟目标且峰值利用率不超过上限，"
                 "才算达标。此处“未达标”会使 yanxiu check 失败。"),
    "unjudged": ("not judged (< {rps} req/s)", "不评判（< {rps} 请求/秒）"),
    "target_line": ("{p} target {ms} ms", "{p} 目标 {ms} 毫秒"),
    "all_near_zero": ("all values below {limit}: nothing to draw", "所有数值均低于 {limit}，无需绘制"),
    "activity": ("Teachers active and hours studied per day", "每日活跃教师与学习时长"),
    "active_teachers": ("teachers active", "活跃教师"),
    "study_hours": ("credit hours earned", "获得学时"),
    "hours_axis": ("hours", "小时"),
    "workforce": ("all teachers", "全体教师"),
    "ratio_measured_model": ("measured ÷ model", "实测 ÷ 模型"),
    "unbounded": ("unbounded (a latency target below the bare service time)",
                  "无上限（延迟目标低于纯服务时间）"),
    "not_judged": ("not judged (no busy minute)", "未评判（无足够繁忙的分钟）"),
    # yanxiu compare (report.compare)
    "cmp_title": ("What-if comparison: {names}", "情景对比：{names}"),
    "cmp_reference": ("{name} is the reference: every other run shows its difference from it in brackets.",
                      "以 {name} 为基准：其他各次运行在括号中给出与它的差异。"),
    "cmp_headline": ("Outcomes and peaks", "学习结果与峰值"),
    "cmp_capacity": ("Capacity needed per tier", "各层所需容量"),
    "cmp_slo": ("Service levels: verdict, minutes within target, worst judged minute p95",
                "服务水平：结论、达标分钟占比、最差评判分钟 p95"),
    "cmp_slo_note": ("Differences in brackets are percentage points of judged minutes within target.",
                     "括号内为达标分钟占比的差异（百分点）。"),
    "cmp_load": ("Requests/s (hourly peak)", "每秒请求数（每小时峰值）"),
    "cmp_daily_peak": ("Busiest minute of each day", "每天最忙一分钟的每秒请求数"),
    "compare_load": ("Load curves and active teachers, overlaid", "负载曲线与活跃教师对比"),
    "compare_daily_peak": ("Daily peak requests/s, overlaid", "每日峰值请求数对比"),
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
