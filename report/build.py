"""Build a report: load a results folder, draw its charts (PNGs beside the page), write one
self-contained report.html."""

from __future__ import annotations

from pathlib import Path

from report import campaigns, headline, html, ranges_view
from report.data import LoadtestResults, ModelResults, WorkloadResults, load, warn
from report.fonts import find_cjk_font, rc_for
from report.i18n import Labels

CAPTIONS = {
    "requests_window": "rps_window", "heatmap": "heatmap", "concurrency": "concurrency",
    "utilisation": "utilisation", "latency": "latency", "funnel": "funnel",
    "certified_by_day": "certified_by_day", "attempts": "attempts",
    "loadtest_throughput": "lt_throughput", "loadtest_latency": "lt_latency",
    "loadtest_arrivals": "lt_arrivals", "loadtest_model": "lt_model",
    "workload_replications": "workload_replications",
}
DPI = 100


def default_out(folder: Path) -> Path:
    """results/<run>/report/report.html: never over Locust's own report.html or the model's PNGs."""
    return folder / "report" / "report.html"


def _draw(data: ModelResults | LoadtestResults | WorkloadResults, charts: dict, labels: Labels,
          family: str | None, out_dir: Path, page: Labels) -> list[html.Chart]:
    import matplotlib

    drawn = []
    with matplotlib.rc_context(rc_for(family)):
        for key, draw in charts.items():
            figure = draw(data, labels)
            if figure is None:
                continue
            png = out_dir / f"{key}.png"
            figure.savefig(png, dpi=DPI)
            drawn.append(html.Chart(key, page(CAPTIONS[key]), png))
    return drawn


def _model_parts(data: ModelResults, t: Labels) -> tuple[str, str, list, list]:
    s = data.summary
    name = s.scenario
    meta = (f"{data.folder} · seed {s.seed} · {headline.number(s.teachers)} teachers · "
            f"{data.times[0] if len(data.times) else ''} – {data.times[-1] if len(data.times) else ''}")
    tables = [x for x in (headline.capacity_table(data, t), headline.slo_table(data, t),
                          headline.confirmation_table(data, t)) if x]
    tables += campaigns.tables(s, t)  # a platform run: each campaign's part (report.campaigns)
    tables += [x for x in (ranges_view.ranges_table(data, t),) if x]  # yanxiu run --ranges
    return t("title_model", name=Path(name).stem), meta, headline.model_cards(data, t), tables


def _loadtest_parts(data: LoadtestResults, t: Labels) -> tuple[str, str, list, list]:
    from report.loadtest_charts import predicted_rates, shared_metrics

    s = data.summary
    meta = (f"{data.folder} · host {s.host or '–'} · {headline.number(s.duration_s)} s · "
            f"compress {s.compress} · scale {s.scale}")
    rates = [(f"req/s {name}", model, measured) for name, model, measured in predicted_rates(data)]
    both = headline.model_table(rates + shared_metrics(data), t)
    tables = [x for x in (headline.endpoints_table(data, t), both) if x]
    return t("title_loadtest", name=data.folder.name), meta, headline.loadtest_cards(data, t), tables


def _workload_parts(data: WorkloadResults, t: Labels) -> tuple[str, str, list, list]:
    from report import workload

    title, meta = workload.title_meta(data, t)
    return title, meta, workload.cards(data, t), workload.tables(data, t)


def build_report(folder: str | Path, lang: str = "en", out: str | Path | None = None) -> Path:
    """Write the report and its PNGs; return the page's path. Bad input raises ReportError
    (a CSV file) or records.RecordsError (summary.json)."""
    folder = Path(folder)
    data = load(folder)
    out = Path(out) if out else default_out(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = Labels(lang)
    family = find_cjk_font() if lang == "zh" else None
    notes = list(data.notes)
    if lang == "zh" and family is None:
        warn(Labels("en")("no_font"))
        notes.append(page("no_font"))
    chart_labels = Labels(lang if family or lang != "zh" else "en")
    if isinstance(data, ModelResults):
        from report.model_charts import CHARTS
        title, meta, cards, tables = _model_parts(data, page)
    elif isinstance(data, WorkloadResults):
        from report.workload import CHARTS
        title, meta, cards, tables = _workload_parts(data, page)
    else:
        from report.loadtest_charts import CHARTS
        title, meta, cards, tables = _loadtest_parts(data, page)
    charts = _draw(data, CHARTS, chart_labels, family, out.parent, page)
    for note in data.notes:
        warn(note)
    headings = {key: page(key) for key in ("headline", "charts", "notes")}
    out.write_text(html.render(lang=lang, title=title, meta=meta, cards=cards, tables=tables, charts=charts,
                               notes=notes, headings=headings), encoding="utf-8")
    return out
