"""A KPI's figures judged: status against the target (green / yellow / red) and trend against the previous period.

Pure functions of numbers: no PromQL, no Slack. A value of None means the query returned nothing
("no data"): it has no status and no trend, and nothing is made up in its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.performance.settings import Kpi


class Status(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NO_DATA = "no data"


class TrendKind(StrEnum):
    IMPROVED = "improved"
    WORSE = "worse"
    STEADY = "steady"
    UNKNOWN = "n/a"


STATUS_MARKERS = {Status.GREEN: "🟢", Status.YELLOW: "🟡", Status.RED: "🔴", Status.NO_DATA: "⚪"}
TREND_MARKERS = {TrendKind.IMPROVED: "↗", TrendKind.WORSE: "↘", TrendKind.STEADY: "→", TrendKind.UNKNOWN: "·"}


def scaled(kpi: Kpi, bound: float, days: int) -> float:
    """A per-day budget (downtime, error count) grows with the period; other targets do not."""
    return bound * max(1, days) if kpi.per_day else bound


def status_of(kpi: Kpi, value: float | None, *, days: int = 1) -> Status:
    if value is None:
        return Status.NO_DATA
    value = rounded(kpi, value)  # judged as shown: "99.90 %" never reads as a miss of ">= 99.9"
    if kpi.target.met_by(value, bound=scaled(kpi, kpi.target.value, days)):
        return Status.GREEN
    if kpi.warning is not None and kpi.target.met_by(value, bound=scaled(kpi, kpi.warning, days)):
        return Status.YELLOW
    return Status.RED


def rounded(kpi: Kpi, value: float) -> float:
    return round(value, kpi.decimals)


def trend_of(kpi: Kpi, value: float | None, previous: float | None) -> TrendKind:
    """Better or worse as the target reads (lower is better for "<"); within `steady_within` is steady."""
    if value is None or previous is None:
        return TrendKind.UNKNOWN
    change = rounded(kpi, value) - rounded(kpi, previous)
    if abs(change) <= kpi.steady_within:
        return TrendKind.STEADY
    better = change < 0 if kpi.target.comparison.lower_is_better else change > 0
    return TrendKind.IMPROVED if better else TrendKind.WORSE


def format_number(kpi: Kpi, value: float) -> str:
    text = f"{value:,.{kpi.decimals}f}"
    return "0" if text.strip("-0.,") == "" else text  # never "-0"


def format_value(kpi: Kpi, value: float | None) -> str:
    """As people read it: "99.93%", "47 min", "1.35 s", "470 ms", "10,990"; None is "no data"."""
    if value is None:
        return "no data"
    number = format_number(kpi, value)
    if kpi.unit == "%":
        return f"{number}%"
    return f"{number} {kpi.unit}" if kpi.unit else number


def format_change(kpi: Kpi, change: float) -> str:
    """A signed difference in the KPI's unit: "−120 ms", "+0.50 pts" (of a percentage), "±0 ms"."""
    sign = "±" if rounded(kpi, change) == 0 else "+" if change > 0 else "−"
    if kpi.unit == "%":
        return f"{sign}{format_number(kpi, abs(change))} pts"
    return sign + format_value(kpi, abs(change))


def format_target(kpi: Kpi, days: int = 1) -> str:
    bound = scaled(kpi, kpi.target.value, days)
    shown = f"{bound:,.{_decimals_of(bound)}f}"
    unit = "%" if kpi.unit == "%" else f" {kpi.unit}" if kpi.unit else ""
    return f"{kpi.target.comparison.symbol} {shown}{unit}"


def _decimals_of(number: float) -> int:
    text = f"{number:.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True)
class KpiRow:
    """One line of the KPI table."""

    kpi: Kpi
    value: float | None
    previous: float | None
    status: Status
    trend: TrendKind
    days: int
    error: str | None = None  # the query was refused; the reason, for the report's problems line

    @property
    def shown(self) -> str:
        return format_value(self.kpi, self.value)

    @property
    def was(self) -> str:
        return format_value(self.kpi, self.previous)

    @property
    def target(self) -> str:
        return format_target(self.kpi, self.days)

    @property
    def marker(self) -> str:
        return STATUS_MARKERS[self.status]

    @property
    def arrow(self) -> str:
        return TREND_MARKERS[self.trend]

    @property
    def change(self) -> str:
        if self.value is None or self.previous is None:
            return ""
        return format_change(self.kpi, self.value - self.previous)


def evaluate(
    kpi: Kpi, value: float | None, previous: float | None, *, days: int = 1, error: str | None = None
) -> KpiRow:
    return KpiRow(
        kpi=kpi,
        value=value,
        previous=previous,
        status=status_of(kpi, value, days=days),
        trend=trend_of(kpi, value, previous),
        days=days,
        error=error,
    )
