"""Build a report: load a results folder, draw its charts (PNGs beside the page), write one
self-contained report.html."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from report import (
    campaigns,
    cascade,
    comparison_view,
    headline,
    html,
    pngs,
    prediction_view,
    ranges_view,
    slo_view,
    verdict,
)
from report.data import LoadtestResults, ModelResults, WorkloadResults, load, warn
from report.fonts import find_cjk_font
from report.i18n import Labels

CAPTIONS = {
    "requests_window": "rps_window", "heatmap": "heatmap", "concurrency": "concurrency",
    "utilisation": "utilisation", "latency": "latency", "funnel": "funnel",
    "certified_by_day": "certified_by_day", "attempts": "attempts",
    "loadtest_throughput": "lt_throughput", "loadtest_latency": "lt_latency",
    "loadtest_arrivals": "lt_arrivals", "loadtest_model": "lt_model",
    "workload_replications": "workload_replications", "activity": "activity",
}
DPI = pngs.DPI  # one resolution for every PNG (report.pngs)


def default_out(folder: Path, lang: str = "en") -> Path:
    """results/<run>/report/report.html (report.zh.html in Chinese, so the two languages sit side
    by side): never over Locust's own report.html or the model's PNGs."""
    return folder / "report" / ("report.html" if lang == "en" else f"report.{lang}.html")


def _draw(data: ModelResults | LoadtestResults | WorkloadResults, charts: dict, labels: Labels,
          family: str | None, out_dir: Path, page: Labels, suffix: str = "",
          on_chart: Callable[[int, int], None] | None = None) -> list[html.Chart]:
    return [html.Chart(key, page(CAPTIONS[key]), png)
            for key, png in pngs.draw(data, charts, labels, family, out_dir, suffix, on_chart)]


def _model_parts(data: ModelResults, t: Labels) -> tuple[str, str, list, list]:
    s = data.summary
    name = s.scenario
    span = f"{data.times[0]} – {data.times[-1]}" if len(data.times) else ""
    people = f"{headline.number(s.teachers)} {t('meta_teachers')}"
    meta = f"{data.folder} · {t('meta_seed')} {s.seed} · {people} · {span}"
    tables = [x for x in (headline.capacity_table(data, t), slo_view.slo_table(data, t),
                          headline.confirmation_table(data, t)) if x]
    tables += campaigns.tables(s, t)  # a platform run: each campaign's part (report.campaigns)
    tables += [x for x in (ranges_view.ranges_table(data, t),) if x]  # yanxiu run --ranges
    cards = verdict.outcome_cards(data, t) + headline.model_cards(data, t)
    return t("title_model", name=Path(name).stem), meta, cards, tables


def _loadtest_parts(data: LoadtestResults, t: Labels) -> tuple[str, str, list, list]:
    from report.loadtest_charts import predicted_rates, shared_metrics

    s = data.summary
    meta = (f"{data.folder} · host {s.host or '–'} · {headline.number(s.duration_s)} s · "
            f"compress {s.compress:g} · scale {s.scale:.4g}")
    # the request rates against the model: summary.json's own comparison when it has one
    # (per endpoint and per bin, loadtests.requests), else the model's mean rates here
    rates = [] if s.requests_vs_plan else [(f"req/s {name}", model, measured)
                                           for name, model, measured in predicted_rates(data)]
    both = headline.model_table(rates + shared_metrics(data), t)
    level = data.level  # a bench validation level: its comparison and overload verdicts (level.json)
    compared = comparison_view.comparison_tables(s, data.comparison, t, from_level=s.prediction is None,
                                                 overload=level.overload if level is not None else None)
    tables = [x for x in (headline.endpoints_table(data, t), prediction_view.plan_table(s, t), *compared,
                          both) if x]
    return t("title_loadtest", name=data.folder.name), meta, headline.loadtest_cards(data, t), tables


def _workload_parts(data: WorkloadResults, t: Labels) -> tuple[str, str, list, list]:
    from report import workload

    title, meta = workload.title_meta(data, t)
    return title, meta, workload.cards(data, t), workload.tables(data, t)


def build_report(folder: str | Path, lang: str = "en", out: str | Path | None = None,
                 on_chart: Callable[[int, int], None] | None = None) -> Path:
    """Write the report and its PNGs; return the page's path. Bad input raises ReportError
    (a CSV file) or records.RecordsError (summary.json)."""
    folder = Path(folder)
    data = load(folder)
    out = Path(out) if out else default_out(folder, lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = Labels(lang)
    family = find_cjk_font() if lang == "zh" else None
    notes = list(data.notes)
    if lang == "zh" and family is None:
        warn(Labels("en")("no_font"))
        notes.append(page("no_font"))
    chart_labels = Labels(lang if family or lang != "zh" else "en")
    sentences: list[str] = []
    overload = None  # the overload cascade's section (report.cascade), model runs only
    drawings: dict  # chart key -> drawing function of this kind of results
    if isinstance(data, ModelResults):
        from report.model_charts import CHARTS as MODEL_CHARTS
        drawings = model_charts(MODEL_CHARTS)
        title, meta, cards, tables = _model_parts(data, page)
        sentences = verdict.paragraph(data, page)
        overload = cascade.section(data, page)
    elif isinstance(data, WorkloadResults):
        from report.workload import CHARTS as WORKLOAD_CHARTS
        drawings = WORKLOAD_CHARTS
        title, meta, cards, tables = _workload_parts(data, page)
    else:
        from report.loadtest_charts import CHARTS as LOADTEST_CHARTS
        drawings = LOADTEST_CHARTS
        title, meta, cards, tables = _loadtest_parts(data, page)
    charts = _draw(data, drawings, chart_labels, family, out.parent, page, "" if lang == "en" else f".{lang}",
                   on_chart)
    for note in data.notes:
        warn(note)
    headings = {key: page(key) for key in ("headline", "charts", "notes", "verdict")}
    out.write_text(html.render(lang=lang, title=title, meta=meta, cards=cards, tables=tables, charts=charts,
                               notes=notes, headings=headings, verdict=sentences, cascade=overload),
                   encoding="utf-8")
    return out


def model_charts(charts: dict) -> dict:
    """The model run's charts in page order: the service-level charts that agree with the SLO
    table (report.slo_view), the daily activity and the funnel from the whole workforce
    (report.outcome_charts) in place of the plain ones."""
    from report import outcome_charts

    replaced = {"utilisation": slo_view.utilisation, "latency": slo_view.latency,
                "funnel": outcome_charts.funnel}
    ordered = {}
    for key, draw in charts.items():
        ordered[key] = replaced.get(key, draw)
        if key == "funnel":
            ordered["activity"] = outcome_charts.activity
    return ordered
