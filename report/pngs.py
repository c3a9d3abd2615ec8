"""Charts drawn to PNG files: the one loop that renders the report's drawings, used by
``yanxiu report`` (PNGs beside report.html) and by ``yanxiu run`` (the model's charts in its
results folder; ``--no-charts`` skips them). The drawings themselves live in
``report.model_charts``, ``report.loadtest_charts`` and ``report.workload``: one per chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from report.data import ModelResults, load
from report.errors import ReportError
from report.fonts import rc_for
from report.i18n import Labels

DPI = 100


def draw(data: Any, charts: Mapping[str, Callable[[Any, Labels], Any]], labels: Labels,
         family: str | None, out_dir: Path, suffix: str = "",
         on_chart: Callable[[int, int], None] | None = None) -> list[tuple[str, Path]]:
    """Draw every chart that has something to show into ``out_dir/<key><suffix>.png``."""
    import matplotlib

    drawn = []
    with matplotlib.rc_context(rc_for(family)):
        for done, (key, chart) in enumerate(charts.items(), start=1):
            figure = chart(data, labels)
            if on_chart is not None:
                on_chart(done, len(charts))
            if figure is None:
                continue
            png = out_dir / f"{key}{suffix}.png"
            figure.savefig(png, dpi=DPI)
            drawn.append((key, png))
    return drawn


# the overview charts `yanxiu run` leaves beside its results (the load over the window, the
# day-by-hour heatmap, the completion funnel); `yanxiu report` draws them all
RUN_CHARTS = ("requests_window", "heatmap", "funnel")


def write_model_pngs(folder: str | Path, lang: str = "en", keys: tuple[str, ...] = RUN_CHARTS) -> list[Path]:
    """The model charts ``keys`` of a results folder, as ``folder/<chart>.png``; return the files."""
    from report.model_charts import CHARTS

    folder = Path(folder)
    data = load(folder)
    if not isinstance(data, ModelResults):
        raise ReportError(f"{folder}: charts are drawn for model runs (this is a {data.summary.kind} run)")
    chosen = {key: CHARTS[key] for key in keys}
    return [png for _, png in draw(data, chosen, Labels(lang), None, folder)]
