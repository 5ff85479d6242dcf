"""From alert labels to the exact things a run will do, or a refusal before anything runs.

Label values come from whoever can make an alert fire, so they are data to validate, never code:
each must fully match its parameter's pattern, and whatever a pattern allows, values holding
control characters, shell or template syntax, quotes, `..`, or a leading `-` (an option to the
program) are refused. Values then only ever land in argv elements, URL-encoded path/query parts,
or JSON string leaves rendered by the sandbox; never in a shell, a host name, or JSON text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jinja2 import TemplateError

from handlers.autofix.runbooks import CommandStep, EnvValue, HttpStep, ManualStep, Runbook, template

_NEVER_ALLOWED = re.compile(r"[\x00-\x1f\x7f;&|`$<>(){}\[\]\\'\"*?!#~\s]|\.\.|^-")
VALUE_SHOWN_LIMIT = 80


class ParameterRefused(Exception):
    """A label value failed validation: the run is refused and nothing is executed."""

    def __init__(self, param: str, label: str, value: str | None, reason: str) -> None:
        self.param, self.label, self.value, self.reason = param, label, value, reason
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.value is None:
            return f"parameter `{self.param}`: the alert has no `{self.label}` label"
        shown = json.dumps(self.value[:VALUE_SHOWN_LIMIT], ensure_ascii=False)
        return f"parameter `{self.param}`: label `{self.label}` = {shown} {self.reason}"


def resolve_params(runbook: Runbook, labels: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, param in runbook.params.items():
        value = labels.get(param.label)
        if value is None or value == "":
            raise ParameterRefused(name, param.label, None, "is missing")
        if re.fullmatch(param.pattern, value) is None:
            raise ParameterRefused(name, param.label, value, "does not match its pattern")
        if _NEVER_ALLOWED.search(value):
            raise ParameterRefused(name, param.label, value, "contains characters that are never allowed")
        values[name] = value
    return values


@dataclass(frozen=True)
class PlannedHttp:
    name: str
    method: str
    url: str  # already percent-encoded: send as is
    headers: Mapping[str, str | EnvValue]
    body: Any
    timeout: float
    expected_status: tuple[int, ...]
    kind: str = "http"

    def describe(self) -> str:
        expected = "/".join(str(code) for code in self.expected_status)
        return f"{self.method} {self.url} (timeout {self.timeout:g}s, expects HTTP {expected})"


@dataclass(frozen=True)
class PlannedCommand:
    name: str
    argv: tuple[str, ...]
    cwd: str | None
    env_names: tuple[str, ...]
    timeout: float
    kind: str = "command"

    def describe(self) -> str:
        where = f" in {self.cwd}" if self.cwd else ""
        return f"{json.dumps(list(self.argv), ensure_ascii=False)}{where} (timeout {self.timeout:g}s)"


@dataclass(frozen=True)
class PlannedManual:
    name: str
    text: str
    kind: str = "manual"
    format: str = "text"  # or "markdown" (the bundled runbooks' steps)

    def describe(self) -> str:
        return self.text


PlannedStep = PlannedHttp | PlannedCommand | PlannedManual


@dataclass(frozen=True)
class RunPlan:
    runbook: Runbook
    params: Mapping[str, str]
    steps: tuple[PlannedStep, ...] = field(default_factory=tuple)


def plan_run(runbook: Runbook, labels: Mapping[str, str]) -> RunPlan:
    """Validate the parameters and render every step; raises ParameterRefused."""
    params = resolve_params(runbook, labels)
    steps: list[PlannedStep] = []
    for number, step in enumerate(runbook.steps, start=1):
        name = step.name or f"Step {number}"
        if isinstance(step, HttpStep):
            encoded = {key: quote(value, safe="") for key, value in params.items()}
            steps.append(
                PlannedHttp(
                    name=name,
                    method=step.method,
                    url=_render(step.url, encoded),
                    headers=dict(step.headers),
                    body=_render_leaves(step.body, params),
                    timeout=step.timeout,
                    expected_status=tuple(step.expected_status),
                )
            )
        elif isinstance(step, CommandStep):
            steps.append(
                PlannedCommand(
                    name=name,
                    argv=tuple(_render(arg, params) for arg in step.argv),
                    cwd=step.cwd,
                    env_names=tuple(step.env),
                    timeout=step.timeout,
                )
            )
        elif isinstance(step, ManualStep):
            steps.append(PlannedManual(name=name, text=step.text, format=step.format))
    return RunPlan(runbook, params, tuple(steps))


def _render(source: str, params: Mapping[str, str]) -> str:
    if "{" not in source:
        return source
    try:
        return template(source).render(**params)
    except TemplateError as error:  # the config check makes this unreachable for declared names
        raise ValueError(f"cannot render {source!r}: {error}") from None


def _render_leaves(value: Any, params: Mapping[str, str]) -> Any:
    """The JSON body keeps its structure; only string leaves are rendered."""
    if isinstance(value, str):
        return _render(value, params)
    if isinstance(value, list):
        return [_render_leaves(item, params) for item in value]
    if isinstance(value, dict):
        return {key: _render_leaves(item, params) for key, item in value.items()}
    return value
