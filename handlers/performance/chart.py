"""The KPI chart: one small panel per KPI, the previous and the current value against the target, as PNG.

Each KPI has its own scale (percent, milliseconds, minutes), so panels rather than one axis: the
current bar takes its status colour, a dashed line marks the target and a dotted one where yellow
ends. matplotlib's object API with the Agg canvas, no pyplot state: safe in a worker thread.
"""

from __future__ import annotations

import io
import math
from typing import Sequence

from handlers.performance.evaluation import KpiRow, Status, scaled

STATUS_COLOURS = {Status.GREEN: "#54A24B", Status.YELLOW: "#ECA82C", Status.RED: "#E45756", Status.NO_DATA: "#BBBBBB"}
PREVIOUS_COLOUR = "#B8C4D6"
TARGET_COLOUR = "#333333"
COLUMNS = 4
HEADROOM = 1.25


def render_kpi_chart(rows: Sequence[KpiRow], *, title: str) -> bytes:
    # Imported here: matplotlib takes about a second to import, which start-up should not pay for.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = max(1, len(rows))
    lines = math.ceil(count / COLUMNS)
    figure = Figure(figsize=(12, 0.6 + 2.4 * lines), dpi=100)
    FigureCanvasAgg(figure)
    figure.suptitle(title)
    for index, row in enumerate(rows):
        axis = figure.add_subplot(lines, COLUMNS, index + 1)
        _panel(axis, row)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _panel(axis, row: KpiRow) -> None:  # type: ignore[no-untyped-def]
    kpi = row.kpi
    axis.set_title(kpi.name, fontsize=9)
    axis.tick_params(labelsize=7)
    unit = kpi.unit or "count"
    axis.set_ylabel(unit, fontsize=7)
    target = scaled(kpi, kpi.target.value, row.days)
    warning = scaled(kpi, kpi.warning, row.days) if kpi.warning is not None else None
    values = [row.previous, row.value]
    heights = [value if value is not None else 0.0 for value in values]
    colours = [PREVIOUS_COLOUR, STATUS_COLOURS[row.status]]
    axis.bar([0, 1], heights, color=colours, width=0.6)
    axis.set_xticks([0, 1])
    axis.set_xticklabels(["previous", "current"])
    axis.axhline(target, color=TARGET_COLOUR, linestyle="--", linewidth=1)
    if warning is not None and warning != target:
        axis.axhline(warning, color=TARGET_COLOUR, linestyle=":", linewidth=1)
    for position, value in enumerate(values):
        label = row.shown if position == 1 else row.was
        axis.annotate(label, (position, heights[position]), ha="center", va="bottom", fontsize=7)
    scale = [target, warning or target] + [v for v in values if v is not None]
    top, bottom = max(scale), min(scale + [0.0])
    if not kpi.target.comparison.lower_is_better and kpi.unit == "%" and min(scale) > 50:
        bottom = max(0.0, min(scale) - (100 - min(scale)) * 0.5 - 1)  # uptime: show 96-100, not 0-100
    axis.set_ylim(bottom, top * HEADROOM if top > 0 else 1.0)
