"""The report's overload section: what an under-provisioned or failing platform did to teachers,
in words a manager reads (what happened and when, how many teachers, how much study was put off,
how much extra load the retries made, how late credit showed), with the figures in a table.
Written only when the run has a cascade (summary.json ``cascade``, sim/outputs/cascade.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from records.model import Cascade, Slo
from report.data import ModelResults
from report.headline import Table
from report.i18n import Labels
from report.numbers import amount, big, figure, share

STRINGS: dict[str, tuple[str, str]] = {
    "heading": ("When the platform could not keep up", "平台不堪重负时发生了什么"),
    "cause": ("The cause: {tiers}.", "原因：{tiers}。"),
    "cause_tier": ("{tier} had {provided}, below the {minimum} it needs at the busiest minutes just to keep "
                   "its latency targets (the plan with {headroom} headroom is {needed})",
                   "{tier} 现有 {provided}，低于最忙时段仅为保持延迟目标所需的最低 {minimum}"
                   "（留 {headroom} 余量的规划容量为 {needed}）"),
    "lost": ("From {first} (worst minute {worst}) the platform was too slow for some teachers: {lost} study "
             "sessions ({share} of {sessions}) were given up because pages took longer than the {patience} "
             "teachers wait or videos stalled. {teachers} teachers were affected.",
             "自 {first} 起（最严重的一分钟为 {worst}），平台对部分教师响应过慢：{lost} 次学习会话"
             "（占 {sessions} 次的 {share}）因页面超过教师愿意等待的 {patience} 或视频卡顿而放弃，"
             "共 {teachers} 名教师受影响。"),
    "deferred": ("{deferred} of those sessions were made up later: the teachers came back on average {hours} "
                 "hours later and studied {study} hours then ({study_share} of all study in the campaign).",
                 "其中 {deferred} 次会话后来得到补学：教师平均 {hours} 小时后回来，补学 {study} 小时"
                 "（占全部学习时长的 {study_share}）。"),
    "never": ("{never} were not made up before the deadline.", "另有 {never} 次在截止前没有补上。"),
    "load": ("Retries and SMS codes sent again added {retried} requests, {share} of all requests: extra load "
             "that arrives exactly when the platform is short ({resends} SMS codes resent).",
             "重试和重发短信验证码额外产生 {retried} 个请求，占全部请求的 {share}，"
             "而且恰好在平台最吃紧时到来（重发短信 {resends} 条）。"),
    "load_retries": ("Retries added {retried} requests, {share} of all requests: extra load that arrives "
                     "exactly when the platform is short.",
                     "重试额外产生 {retried} 个请求，占全部请求的 {share}，而且恰好在平台最吃紧时到来。"),
    "credit": ("Credit for study showed on average {mean} minutes after the study, and 95% of it within "
               "{p95} minutes.",
               "学习时长平均在学习后 {mean} 分钟计入学时，95% 在 {p95} 分钟内计入。"),
    "beats": ("{lost} heartbeats ({share}) were lost on the way; {hours} study hours were never credited and "
              "had to be studied again.",
              "{lost} 次心跳（{share}）在传输中丢失；{hours} 小时的学习未被计入，需要重新学习。"),
    "beats_late": ("{lost} heartbeats ({share}) were lost on the way; their study came with the next "
                   "heartbeat, so its credit showed later.",
                   "{lost} 次心跳（{share}）在传输中丢失；其学习时长随下一次心跳计入，因此计入较晚。"),
    "refused": ("The SMS vendor's per-phone limits refused {refused} codes: those teachers could not sign in "
                "until later.",
                "短信服务商的单号码限制拒发 {refused} 条验证码，这些教师只能稍后再登录。"),
    "room": ("The waiting room queued {waited} sessions for {mean} minutes on average (longest {longest} "
             "minutes) instead of failing their requests; {left} teachers gave up waiting and came back "
             "later.",
             "排队等候室让 {waited} 次会话排队，平均等待 {mean} 分钟（最长 {longest} 分钟），"
             "而不是让请求失败；{left} 名教师放弃等待，稍后再来。"),
    "queue": ("The queue was longest at {at}, with {peak} teachers waiting; a teacher joining it found "
              "{mean} people ahead on average, and one in twenty found more than {p95}.",
              "队伍在 {at} 最长，有 {peak} 名教师在排队；教师进入等候室时前面平均有 {mean} 人，"
              "每 20 人中有 1 人前面超过 {p95} 人。"),
    "shut": ("Maintenance shut the platform: {deferred} sessions found it closed and came back after, "
             "{cut} were cut short.",
             "维护期间平台关闭：{deferred} 次会话遇到关闭、之后再来，{cut} 次被中途打断。"),
    "cheat": ("Scripted clients claimed {scripted} study hours ({beats} heartbeats); {unattended} study "
              "hours came from videos left playing unattended.",
              "脚本客户端申报学习 {scripted} 小时（心跳 {beats} 次）；{unattended} 小时来自无人观看、"
              "自动播放的视频。"),
    "table": ("The cascade in figures", "连锁反应的数字"),
    "figure": ("Figure", "指标"), "value": ("Value", "数值"),
    "seconds": ("{s} seconds", "{s} 秒"), "never_lost": ("–", "–"),
    "r_lost": ("Sessions lost", "放弃的会话"), "r_teachers": ("Teachers affected", "受影响教师"),
    "r_deferred": ("Sessions made up later", "之后补学的会话"),
    "r_never": ("Sessions not made up", "未补上的会话"),
    "r_deferral": ("Mean time to come back (hours)", "平均回来间隔（小时）"),
    "r_study": ("Study hours made up later", "之后补学的学习时长（小时）"),
    "r_retried": ("Extra requests (retries, resends)", "额外请求（重试、重发）"),
    "r_retry_share": ("Extra requests, share of all", "额外请求占比"),
    "r_failed": ("Failed requests", "失败请求"), "r_resends": ("SMS codes resent", "重发短信"),
    "r_credit": ("Credit delay, mean / p95 (minutes)", "学时计入延迟，平均 / p95（分钟）"),
    "r_beats": ("Heartbeats lost", "丢失的心跳"),
    "r_queue": ("Longest queue in the waiting room (teachers)", "等候室最长队伍（人）"),
    "r_position": ("People ahead on joining the queue, mean / p95", "进入队伍时前面的人数，平均 / p95"),
}


def _t(t: Labels, key: str, **fields: object) -> str:
    english, chinese = STRINGS[key]
    return (chinese if t.lang == "zh" else english).format(**fields)


@dataclass
class Section:
    heading: str
    paragraphs: list[str]
    table: Table


def section(data: ModelResults, t: Labels) -> Section | None:
    c = data.summary.cascade
    if c is None:
        return None
    sentences = [x for x in (_cause(data, t), _lost(data, c, t), _deferred(c, t), _load(c, t), _credit(c, t))
                 if x]
    sentences += _modes(c, t)
    return Section(_t(t, "heading"), sentences, _table(c, t))


def below_minimum(data: ModelResults) -> list[str]:
    """Tiers given less than the minimum that keeps their latency targets (sim.tiers.sizing)."""
    return [tier for tier, cap in data.summary.capacity.items()
            if cap.minimum is not None and cap.provided is not None and cap.minimum > cap.provided]


def headroom(slo: Slo | None) -> str:
    """The plan's headroom: what its utilisation cap leaves free ('25%' for a 75% cap)."""
    cap = slo.target_max_utilisation if slo is not None else None
    return share(1.0 - cap, 0) if cap is not None else "–"


def _cause(data: ModelResults, t: Labels) -> str:
    s = data.summary
    tiers = [_t(t, "cause_tier", tier=tier, provided=amount(cap.provided, cap.unit, t),
                minimum=amount(cap.minimum, cap.unit, t), needed=amount(cap.needed, cap.unit, t),
                headroom=headroom(s.slo.get(tier)))
             for tier, cap in s.capacity.items() if tier in below_minimum(data)]
    return _t(t, "cause", tiers=("；" if t.lang == "zh" else "; ").join(tiers)) if tiers else ""


def _patience(data: ModelResults, t: Labels) -> str:
    seconds = data.scenario.behaviour.overload.abandon_after_s if data.scenario is not None else None
    return _t(t, "seconds", s=figure(seconds)) if seconds is not None else "–"


def _at(text: str | None) -> str:
    return (text or "–")[:16].replace("T", " ")


def _lost(data: ModelResults, c: Cascade, t: Labels) -> str:
    if not c.sessions_lost:
        return ""
    return _t(t, "lost", first=_at(c.first_lost_at), worst=_at(c.worst_minute), lost=big(c.sessions_lost, t),
              share=share(c.sessions_lost / c.sessions if c.sessions else None), sessions=big(c.sessions, t),
              patience=_patience(data, t), teachers=big(c.teachers_affected, t))


def _deferred(c: Cascade, t: Labels) -> str:
    if not c.sessions_deferred:
        return ""
    text = _t(t, "deferred", deferred=big(c.sessions_deferred, t), hours=figure(c.mean_deferral_hours),
              study=big(c.deferred_study_hours, t),
              study_share=share(c.deferred_study_hours / c.study_hours if c.study_hours else None))
    if c.sessions_not_resumed >= 0.5:
        text += (" " if t.lang != "zh" else "") + _t(t, "never", never=big(c.sessions_not_resumed, t))
    return text


def _load(c: Cascade, t: Labels) -> str:
    if not c.retried_requests:
        return ""
    return _t(t, "load" if c.sms_resends else "load_retries", retried=big(c.retried_requests, t),
              share=share(c.retry_share, 2), resends=big(c.sms_resends, t))


def _credit(c: Cascade, t: Labels) -> str:
    return _t(t, "credit", mean=figure(c.credit_delay_mean_minutes),
              p95=figure(c.credit_delay_p95_minutes) if c.credit_delay_p95_minutes is not None else "–")


def _modes(c: Cascade, t: Labels) -> list[str]:
    out = []
    if c.heartbeats_lost:
        out.append(_t(t, "beats" if c.study_lost_hours else "beats_late", lost=big(c.heartbeats_lost, t),
                      share=share(c.heartbeats_lost / c.heartbeats if c.heartbeats else None, 2),
                      hours=big(c.study_lost_hours, t)))
    if c.sms_refused:
        out.append(_t(t, "refused", refused=big(c.sms_refused, t)))
    room = c.waiting_room
    if room is not None:
        out.append(_t(t, "room", waited=big(room.waited, t), mean=figure(room.mean_wait_minutes),
                      longest=figure(room.longest_wait_minutes), left=big(room.left, t)))
        if room.peak_queue_at is not None:
            out.append(_t(t, "queue", at=_at(room.peak_queue_at), peak=big(room.peak_queue, t),
                          mean=big(room.mean_position, t), p95=big(room.p95_position, t)))
    if c.maintenance_deferred or c.maintenance_cut:
        out.append(_t(t, "shut", deferred=big(c.maintenance_deferred, t), cut=big(c.maintenance_cut, t)))
    if c.scripted_claimed_hours or c.unattended_hours:
        out.append(_t(t, "cheat", scripted=big(c.scripted_claimed_hours, t),
                      beats=big(c.scripted_heartbeats, t), unattended=big(c.unattended_hours, t)))
    return out


def _table(c: Cascade, t: Labels) -> Table:
    p95 = figure(c.credit_delay_p95_minutes) if c.credit_delay_p95_minutes is not None else "–"
    rows = [
        ("r_lost", big(c.sessions_lost, t)), ("r_teachers", big(c.teachers_affected, t)),
        ("r_deferred", big(c.sessions_deferred, t)), ("r_never", big(c.sessions_not_resumed, t)),
        ("r_deferral", figure(c.mean_deferral_hours)), ("r_study", big(c.deferred_study_hours, t)),
        ("r_retried", big(c.retried_requests, t)), ("r_retry_share", share(c.retry_share, 2)),
        ("r_failed", big(c.failed_requests, t)), ("r_resends", big(c.sms_resends, t)),
        ("r_credit", f"{figure(c.credit_delay_mean_minutes)} / {p95}"),
        ("r_beats", big(c.heartbeats_lost, t)),
    ]
    room = c.waiting_room
    if room is not None and room.peak_queue_at is not None:
        rows += [("r_queue", big(room.peak_queue, t)),
                 ("r_position", f"{big(room.mean_position, t)} / {big(room.p95_position, t)}")]
    return Table(_t(t, "table"), [_t(t, "figure"), _t(t, "value")], [[_t(t, k), v] for k, v in rows])
