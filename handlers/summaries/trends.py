"""Each figure against the previous period: up, down or no change, with an arrow and what it was.

Values are compared as people read them (whole seconds, whole percents, scores to one decimal), so a
figure shown unchanged never carries an arrow. Whether "up" is good depends on the figure; the
arrow says only which way it moved, the template may add judgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Mapping

from handlers.slack.blockkit import humanize_duration
from storage.repositories.summaries import PeriodFigures


class TrendKind(StrEnum):
    COUNT = "count"
    SECONDS = "seconds"
    RATE = "rate"  # 0..1, shown as a percentage
    SCORE = "score"  # 1..5


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "no change"
    UNKNOWN = "n/a"  # one side has no data (no resolutions, no surveys, ...)


ARROWS = {Direction.UP: "↑", Direction.DOWN: "↓", Direction.SAME: "→", Direction.UNKNOWN: "·"}

# The figures every report compares with the previous period.
TRENDED: Mapping[str, TrendKind] = {
    "logged": TrendKind.COUNT,
    "resolved": TrendKind.COUNT,
    "open_at_end": TrendKind.COUNT,
    "acknowledged": TrendKind.COUNT,
    "mtta_seconds": TrendKind.SECONDS,
    "mtta_p90_seconds": TrendKind.SECONDS,
    "mttr_seconds": TrendKind.SECONDS,
    "mttr_p90_seconds": TrendKind.SECONDS,
    "past_target": TrendKind.COUNT,
    "resolved_late": TrendKind.COUNT,
    "open_overdue": TrendKind.COUNT,
    "first_contact_rate": TrendKind.RATE,
    "autofix_runs": TrendKind.COUNT,
    "autofix_success_rate": TrendKind.RATE,
    "escalations": TrendKind.COUNT,
    "surveys_sent": TrendKind.COUNT,
    "response_rate": TrendKind.RATE,
    "satisfaction": TrendKind.SCORE,
    "helpful": TrendKind.SCORE,
    "speed": TrendKind.SCORE,
    "professional": TrendKind.SCORE,
    "kb_asked": TrendKind.COUNT,
    "self_service_rate": TrendKind.RATE,
    "minor_unaided_rate": TrendKind.RATE,
    "escalated_rate": TrendKind.RATE,
}


def format_value(value: float | None, kind: TrendKind) -> str:
    if value is None:
        return "n/a"
    if kind is TrendKind.COUNT:
        return f"{int(value):,}"
    if kind is TrendKind.SECONDS:
        return humanize_duration(value)
    if kind is TrendKind.RATE:
        return f"{round(value * 100)}%"
    return f"{value:.1f}/5"


def _as_read(value: float, kind: TrendKind) -> float:
    if kind is TrendKind.RATE:
        return round(value * 100)
    if kind is TrendKind.SCORE:
        return round(value, 1)
    return round(value)


@dataclass(frozen=True)
class Trend:
    kind: TrendKind
    current: float | None
    previous: float | None

    @property
    def direction(self) -> Direction:
        if self.current is None or self.previous is None:
            return Direction.UNKNOWN
        now, before = _as_read(self.current, self.kind), _as_read(self.previous, self.kind)
        return Direction.UP if now > before else Direction.DOWN if now < before else Direction.SAME

    @property
    def arrow(self) -> str:
        return ARROWS[self.direction]

    @property
    def delta(self) -> str:
        """The change as people read it: +3, −12m, +4 pts, −0.3."""
        if self.direction in (Direction.UNKNOWN, Direction.SAME):
            return ""
        assert self.current is not None and self.previous is not None
        sign = "+" if self.direction is Direction.UP else "−"
        change = abs(_as_read(self.current, self.kind) - _as_read(self.previous, self.kind))
        if self.kind is TrendKind.COUNT:
            return f"{sign}{int(change):,}"
        if self.kind is TrendKind.SECONDS:
            return f"{sign}{humanize_duration(change)}"
        if self.kind is TrendKind.RATE:
            return f"{sign}{int(change)} pts"
        return f"{sign}{change:.1f}"

    @property
    def was(self) -> str:
        return format_value(self.previous, self.kind)

    @property
    def short(self) -> str:
        """For lists (a priority, a team): "↑+3", "↓−2", "→"."""
        if self.direction is Direction.UNKNOWN:
            return ""
        return self.arrow + self.delta

    def __str__(self) -> str:
        if self.direction is Direction.SAME:
            return "→ no change"
        if self.direction is Direction.UNKNOWN:
            return f"· (was {self.was})" if self.current is not None or self.previous is not None else ""
        return f"{self.arrow} {self.delta} (was {self.was})"


def compare(current: PeriodFigures, previous: PeriodFigures) -> dict[str, Trend]:
    return {
        name: Trend(kind, getattr(current, name), getattr(previous, name)) for name, kind in TRENDED.items()
    }
