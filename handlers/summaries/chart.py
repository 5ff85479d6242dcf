"""The summary chart: issues opened and resolved per day (bars) with MTTR (line, second axis), as PNG.

matplotlib's object API with the Agg canvas: no pyplot global state and no display, so it is safe
to call from a worker thread (`asyncio.to_thread`), which is how the services call it.
"""

from __future__ import annotations

import io
import math
from datetime import tzinfo
from typing import Sequence

from storage.repositories.summaries import SeriesPoint

OPENED_COLOUR = "#4C78A8"
RESOLVED_COLOUR = "#54A24B"
MTTR_COLOUR = "#E45756"
MAX_TICK_LABELS = 16
HEADROOM = 1.25
_LABEL_FORMATS = {"day": "%d %b", "week": "%d %b", "month": "%b %Y"}


def render_chart(points: Sequence[SeriesPoint], *, title: str, tz: tzinfo, unit: str = "day") -> bytes:
    # Imported here: matplotlib takes about a second to import, which start-up should not pay for.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    issues_axis = figure.add_subplot()
    positions = list(range(len(points)))
    width = 0.4
    opened = issues_axis.bar(
        [x - width / 2 for x in positions], [p.opened for p in points], width, label="Opened", color=OPENED_COLOUR
    )
    resolved = issues_axis.bar(
        [x + width / 2 for x in positions], [p.resolved for p in points], width, label="Resolved", color=RESOLVED_COLOUR
    )
    issues_axis.set_ylabel("Issues")
    issues_axis.yaxis.get_major_locator().set_params(integer=True)
    peak = max([p.opened for p in points] + [p.resolved for p in points] + [1])
    issues_axis.set_ylim(0, peak * HEADROOM)  # room above the bars for the legend; an empty period stays sane

    mttr_axis = issues_axis.twinx()
    hours = [p.mttr_seconds / 3600 if p.mttr_seconds is not None else math.nan for p in points]
    (mttr_line,) = mttr_axis.plot(positions, hours, color=MTTR_COLOUR, marker="o", linewidth=2, label="MTTR (hours)")
    mttr_axis.set_ylabel("MTTR (hours)")
    mttr_axis.set_ylim(0, max([h for h in hours if not math.isnan(h)] + [1.0]) * HEADROOM)

    step = max(1, math.ceil(len(points) / MAX_TICK_LABELS))
    label_format = _LABEL_FORMATS.get(unit, "%d %b")
    issues_axis.set_xticks(positions[::step])
    issues_axis.set_xticklabels([points[i].start.astimezone(tz).strftime(label_format) for i in positions[::step]])
    issues_axis.set_title(title)
    issues_axis.legend(handles=[opened, resolved, mttr_line], loc="upper left", frameon=False)
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
