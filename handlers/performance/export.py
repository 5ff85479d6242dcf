"""The performance report as files: the whole report as Markdown, the KPI table as CSV.

The CSV carries numbers as numbers (rounded as the report shows them, no units) so a spreadsheet
can chart them; an empty cell is "no data". Cells that a spreadsheet would run as a formula
(starting with =, +, - or @) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from handlers.performance.evaluation import format_number, format_target
from handlers.performance.rendering import EXPORT_TEMPLATE, PerformanceTemplates
from handlers.performance.service import PerformanceReport

CSV_COLUMNS = (
    "kpi", "name", "unit", "target", "current", "previous", "status", "trend", "period_start", "period_end", "error",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def kpi_table_csv(report: PerformanceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        kpi = row.kpi
        number = lambda value: "" if value is None else format_number(kpi, value).replace(",", "")  # noqa: E731
        writer.writerow(
            [
                _cell(kpi.key),
                _cell(kpi.name),
                _cell(kpi.unit),
                _cell(format_target(kpi, row.days)),
                number(row.value),
                number(row.previous),
                row.status.value,
                row.trend.value,
                report.period.start.isoformat(),
                report.period.end.isoformat(),
                _cell(report.source_problem or row.error or ""),
            ]
        )
    return out.getvalue()


def report_markdown(report: PerformanceReport, templates: PerformanceTemplates) -> str:
    return templates.document(
        EXPORT_TEMPLATE, {"report": report, "period": report.period, "previous": report.previous}
    )


def export_basename(report: PerformanceReport) -> str:
    return f"performance-{report.period.key.replace('..', '_to_')}"
