"""The `performance:` section of the YAML: the KPIs (defaults merged with the deployment's), reminders, drafts.

    performance:
      kpis:
        api_p95: {target: "< 300", warning: 450}       # override fields of a default KPI
        network_latency: {enabled: false}              # drop one
        queue_lag:                                     # add one
          name: Queue lag
          query: max(max_over_time(queue_lag_seconds[$__range]))
          unit: s
          target: "< 60"
          warning: 120
      drafts_dir: /srv/kb/drafts                       # where "Save to KB drafts" writes reviews

A target is a comparison and a value ("< 500", ">= 99.9"); `warning` is where yellow ends: a value
that misses the target but still meets the same comparison against `warning` is yellow, anything
else red. `per_day: true` makes the target a daily budget (a week's is seven times it).
"""

from __future__ import annotations

import re
from datetime import time as time_of_day
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from core.settings_types import StrictModel
from handlers.performance.defaults import DEFAULT_KPIS

UNITS = ("%", "ms", "s", "min", "")
_TARGET = re.compile(r"^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")


class Comparison(StrEnum):
    BELOW = "<"
    AT_MOST = "<="
    ABOVE = ">"
    AT_LEAST = ">="

    def holds(self, value: float, bound: float) -> bool:
        if self is Comparison.BELOW:
            return value < bound
        if self is Comparison.AT_MOST:
            return value <= bound
        if self is Comparison.ABOVE:
            return value > bound
        return value >= bound

    @property
    def lower_is_better(self) -> bool:
        return self in (Comparison.BELOW, Comparison.AT_MOST)

    @property
    def symbol(self) -> str:
        return {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}[self.value]


class Target(StrictModel):
    comparison: Comparison
    value: float

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            match = _TARGET.match(data)
            if match is None:
                raise ValueError(f"{data!r} is not a target: write a comparison and a number, e.g. \"< 500\" or \">= 99.9\"")
            return {"comparison": match.group(1), "value": float(match.group(2))}
        return data

    def met_by(self, value: float, *, bound: float | None = None) -> bool:
        return self.comparison.holds(value, self.value if bound is None else bound)


class Kpi(StrictModel):
    """One KPI as reports use it: everything filled in."""

    key: str
    name: str
    query: str
    unit: str = ""
    target: Target
    warning: float | None = None
    per_day: bool = False
    decimals: int = Field(default=1, ge=0, le=6)
    steady_within: float = Field(default=0.0, ge=0)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        if value not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(repr(u) for u in UNITS)}")
        return value

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the PromQL query is empty")
        return value.strip()

    @model_validator(mode="after")
    def _warning_is_lenient(self) -> "Kpi":
        if self.warning is not None and self.target.met_by(self.warning) and self.warning != self.target.value:
            side = "above" if self.target.comparison.lower_is_better else "below"
            raise ValueError(f"warning {self.warning:g} must be {side} the target {self.target.value:g}: it is where yellow ends")
        return self


class KpiOverride(StrictModel):
    """A KPI's entry in the YAML: any field of a default KPI, or all that a new one needs."""

    name: str | None = None
    query: str | None = None
    unit: str | None = None
    target: Target | None = None
    warning: float | None = None
    per_day: bool | None = None
    decimals: int | None = None
    steady_within: float | None = None
    enabled: bool = True


class PerformanceSettings(StrictModel):
    """KPIs from Prometheus (PROMETHEUS_URL), the adjustments log and post-incident reviews (handlers/performance)."""

    kpis: dict[str, KpiOverride] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)  # per query; a report runs its queries concurrently
    max_concurrent_queries: int = Field(default=8, ge=1, le=64)
    daily_report: bool = True  # add the KPI section to the daily report (reports.daily)
    reminder_time: time_of_day = time_of_day(9, 0)  # local time on the follow-up date when owners are reminded
    drafts_dir: Path | None = None  # default: a drafts/ folder in the first KB_PATHS folder, if any
    issues_shown: int = Field(default=15, ge=1, le=40)
    adjustments_shown: int = Field(default=10, ge=1, le=20)

    @model_validator(mode="after")
    def _kpis_resolve(self) -> "PerformanceSettings":
        self.definitions()  # a bad entry fails when the config loads, naming the KPI
        return self

    def definitions(self) -> list[Kpi]:
        """The defaults with the deployment's overrides, in the defaults' order, then the added ones."""
        kpis: list[Kpi] = []
        for key in list(DEFAULT_KPIS) + [key for key in self.kpis if key not in DEFAULT_KPIS]:
            override = self.kpis.get(key)
            if override is not None and not override.enabled:
                continue
            fields = dict(DEFAULT_KPIS.get(key, {}))
            if override is not None:
                fields.update(override.model_dump(exclude_none=True, exclude={"enabled"}, exclude_unset=True))
            missing = [name for name in ("name", "query", "target") if name not in fields]
            if missing:
                raise ValueError(f"KPI {key!r} is not a default one, so it needs {', '.join(missing)}")
            try:
                kpis.append(Kpi(key=key, **fields))
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise ValueError(f"KPI {key!r}{': ' + where if where else ''}: {first['msg']}") from None
        return kpis
