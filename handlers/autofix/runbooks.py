"""Runbooks as the config file declares them (`runbooks:` in OPSBOT_CONFIG), and which one fits an alert.

Everything that can be checked before an incident is checked at load: regexes compile, templates
parse and name only declared parameters, parameters never reach a URL's scheme or host nor a
command's program. A bad runbook stops the bot at start-up, not at 3 a.m.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from pydantic import AfterValidator, Field, JsonValue, field_validator, model_validator

from core.settings_types import Duration, StrictModel
from core.vocabulary import Category

RUNBOOK_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # also the KB front matter's `runbook: RB-DB-01`
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}")



# One sandbox for every template a runbook holds: no attribute access to Python internals, and an
# unknown name is an error instead of an empty string.
SANDBOX = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@functools.lru_cache(maxsize=2048)
def template(source: str) -> Template:
    return SANDBOX.from_string(source)


def template_names(source: str) -> set[str]:
    """The variables a template uses (raises TemplateSyntaxError for a broken one)."""
    return set(meta.find_undeclared_variables(SANDBOX.parse(source)))


def compile_regex(pattern: str, what: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"bad regex for {what}: {error}") from None
    return pattern


class RunbookParam(StrictModel):
    """A named value taken from an alert label; `pattern` must match the whole value or the run is refused."""

    label: str = Field(min_length=1, max_length=255)
    pattern: str = Field(min_length=1, max_length=1000)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return compile_regex(value, "a parameter pattern")


class EnvValue(StrictModel):
    """A header value read from an environment variable at run time, e.g. a bearer token."""

    env: str
    prefix: str = ""

    @field_validator("env")
    @classmethod
    def _is_a_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


class _Step(StrictModel):
    name: str = Field(default="", max_length=200)

    def templates(self) -> list[tuple[str, str]]:
        """(where, template source) for every place parameters may appear."""
        return []


class HttpStep(_Step):
    kind: Literal["http"]
    url: str = Field(max_length=2000)
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str | EnvValue] = Field(default_factory=dict)
    body: JsonValue = None
    timeout: float = Field(default=30.0, gt=0, le=900)
    expected_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200, 201, 202, 204], min_length=1
    )

    @field_validator("url")
    @classmethod
    def _fixed_origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an absolute http(s) URL")
        if "{" in parts.scheme + parts.netloc:
            raise ValueError("parameters may appear only in the URL's path and query, never in its host")
        if parts.fragment:
            raise ValueError("url must not have a #fragment")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str | EnvValue]) -> dict[str, str | EnvValue]:
        for name, header in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if isinstance(header, str) and ("{" in header or "\n" in header or "\r" in header):
                raise ValueError(f"header {name}: values are literal text or {{env: NAME}}, never templates")
        return value

    def templates(self) -> list[tuple[str, str]]:
        found = [("url", self.url)]
        _string_leaves(self.body, "body", found)
        return found


class CommandStep(_Step):
    kind: Literal["command"]
    argv: list[str] = Field(min_length=1, max_length=100)
    timeout: float = Field(default=60.0, gt=0, le=3600)
    cwd: str | None = None
    env: list[str] = Field(default_factory=list)  # names passed through from the bot's environment

    @field_validator("argv")
    @classmethod
    def _program_is_fixed(cls, value: list[str]) -> list[str]:
        if "{" in value[0] or not value[0].strip():
            raise ValueError("argv[0] (the program) must be fixed text: parameters go in later arguments")
        return value

    @field_validator("env")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return value

    def templates(self) -> list[tuple[str, str]]:
        return [(f"argv[{index}]", arg) for index, arg in enumerate(self.argv)]


class ManualStep(_Step):
    """Shown to the responder in the thread as written; it is not templated. In a walkthrough the
    run waits at it for Done, Skip or Stuck (handlers/autofix/walkthrough.py)."""

    kind: Literal["manual"]
    text: str = Field(min_length=1, max_length=2000)
    format: Literal["text", "markdown"] = "text"  # markdown: the bundled runbooks' steps, from their articles


Step = Annotated[HttpStep | CommandStep | ManualStep, Field(discriminator="kind")]


def _string_leaves(value: Any, where: str, found: list[tuple[str, str]]) -> None:
    if isinstance(value, str):
        found.append((where, value))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _string_leaves(item, f"{where}[{index}]", found)
    elif isinstance(value, dict):
        for key, item in value.items():
            _string_leaves(item, f"{where}.{key}", found)


WALKTHROUGH_ALLOWANCE = timedelta(hours=12)  # how long a person may take over a walkthrough's manual steps


class Runbook(StrictModel):
    """One fix, automatic or walked through. Matching uses the same Alertmanager semantics as
    bot.config.LabelMatcher (which this module cannot import: bot.config imports this module).

    A runbook without `match`/`match_re` matches no alert by itself: only a bundled runbook's id
    may leave them out (handlers/autofix/library.py), and then it keeps the bundled one's alerts."""

    id: str = Field(pattern=f"^{RUNBOOK_ID_PATTERN}$")
    title: str = Field(min_length=1, max_length=150)
    description: str = Field(default="", max_length=2000)
    match: dict[str, str] = Field(default_factory=dict)
    match_re: dict[str, str] = Field(default_factory=dict)
    params: dict[str, RunbookParam] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=20)
    confirm: bool = False
    auto: bool = False
    walkthrough: bool | None = None  # wait at each manual step for Done/Skip/Stuck; default: when every step is manual
    verify_window: Duration = timedelta(minutes=10)
    cooldown: Duration = timedelta(minutes=5)
    max_attempts: int = Field(default=3, ge=1, le=100)
    root_cause: str = Field(default="", max_length=2000)
    category: Category | None = None  # becomes the root_cause_category when verified

    @field_validator("match_re")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            compile_regex(pattern, f"label {label!r}")
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, RunbookParam]) -> dict[str, RunbookParam]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"parameter name {name!r} must be an identifier (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Runbook":
        if self.auto and self.confirm:
            raise ValueError(f"runbook {self.id}: `auto` runs without anyone to confirm; drop `confirm` or `auto`")
        sample = {name: "x" for name in self.params}
        for number, step in enumerate(self.steps, start=1):
            for where, source in step.templates():
                try:
                    unknown = template_names(source) - set(self.params)
                    if not unknown:
                        template(source).render(**sample)  # the sandbox refuses attribute tricks here, not at 3 a.m.
                except TemplateError as error:
                    raise ValueError(f"runbook {self.id}: step {number} {where}: bad template: {error}") from None
                if unknown:
                    raise ValueError(
                        f"runbook {self.id}: step {number} {where} uses undeclared parameter(s) {sorted(unknown)}"
                    )
        return self

    @property
    def is_walkthrough(self) -> bool:
        """Walked through step by step in the thread: a person checks off each manual step."""
        if self.walkthrough is not None:
            return self.walkthrough
        return all(isinstance(step, ManualStep) for step in self.steps)

    @property
    def button_label(self) -> str:
        """What the issue message's button says for this runbook."""
        return "Walk me through it" if self.is_walkthrough else "Auto-fix"

    def matches(self, labels: Mapping[str, str]) -> bool:
        if not self.match and not self.match_re:
            return False  # never every alert: such a runbook applies only through a bundled one's alerts
        if any(labels.get(label) != expected for label, expected in self.match.items()):
            return False
        return all(re.fullmatch(pattern, labels.get(label, "")) for label, pattern in self.match_re.items())

    @property
    def max_runtime(self) -> timedelta:
        """How long a run may take before it counts as interrupted (steps' timeouts plus slack)."""
        seconds = sum(getattr(step, "timeout", 0.0) for step in self.steps)
        waiting = WALKTHROUGH_ALLOWANCE if self.is_walkthrough and self.has_manual_steps else timedelta(0)
        return timedelta(seconds=seconds + 60) + waiting

    @property
    def has_manual_steps(self) -> bool:
        return any(isinstance(step, ManualStep) for step in self.steps)


def check_unique_ids(runbooks: Sequence[Runbook]) -> Sequence[Runbook]:
    seen: set[str] = set()
    for runbook in runbooks:
        if runbook.id in seen:
            raise ValueError(f"runbook id {runbook.id!r} is used twice")
        seen.add(runbook.id)
    return runbooks


Runbooks = Annotated[list[Runbook], AfterValidator(check_unique_ids)]  # the config's `runbooks:` section


@dataclass(frozen=True)
class RunbookMatch:
    runbook: Runbook
    labels: Mapping[str, str]  # the labels of the alert that matched: parameters come from these


class RunbookCatalog:
    """The configured runbooks in config order, then the bundled ones (handlers/autofix/library.py):
    the first that matches an issue's alerts applies. A configured runbook with a bundled one's id
    replaces it, keeping its alerts when it names none of its own."""

    def __init__(self, runbooks: Sequence[Runbook], bundled: Sequence[Runbook] = ()) -> None:
        check_unique_ids(runbooks)
        check_unique_ids(bundled)
        bundled_by_id = {runbook.id: runbook for runbook in bundled}
        configured = [_keeping_alerts(runbook, bundled_by_id.get(runbook.id)) for runbook in runbooks]
        overridden = {runbook.id for runbook in runbooks}
        self._runbooks = (*configured, *(runbook for runbook in bundled if runbook.id not in overridden))
        self._by_id = {runbook.id: runbook for runbook in self._runbooks}
        # Every new alert asks which runbook applies, inside the webhook's group commit: runbooks that
        # match only a list of alert names (all bundled ones) are looked up by name instead of trying
        # each one's regex, and only the others are tried, in catalog order.
        self._by_alertname: dict[str, int] = {}
        self._scanned: list[int] = []
        for position, runbook in enumerate(self._runbooks):
            names = _alertname_list(runbook)
            if names is None:
                self._scanned.append(position)
            for name in names or ():
                self._by_alertname.setdefault(name, position)

    def __len__(self) -> int:
        return len(self._runbooks)

    @property
    def has_auto(self) -> bool:
        return any(runbook.auto for runbook in self._runbooks)

    def get(self, runbook_id: str) -> Runbook | None:
        return self._by_id.get(runbook_id)

    def match(self, alerts_labels: Sequence[Mapping[str, str]], *, auto_only: bool = False) -> RunbookMatch | None:
        """The first runbook in catalog order that matches one of the alerts (and the alert it matched)."""
        if auto_only:  # rare (a run's own look-up): the plain walk
            return next(
                (RunbookMatch(runbook, labels) for runbook in self._runbooks if runbook.auto
                 for labels in alerts_labels if runbook.matches(labels)),
                None,
            )  # fmt: skip
        none = len(self._runbooks)
        named = [(self._by_alertname.get(labels.get("alertname", ""), none), labels) for labels in alerts_labels]
        first_named = min((position for position, _ in named), default=none)
        for position in self._scanned:  # the runbooks not found by name, up to the first that is
            if position > first_named:
                break
            for labels in alerts_labels:
                if self._runbooks[position].matches(labels):
                    return RunbookMatch(self._runbooks[position], labels)
        for position, labels in named:
            if position == first_named < none:
                return RunbookMatch(self._runbooks[position], labels)
        return None

    def runbook_for(self, alerts_labels: Sequence[Mapping[str, str]]) -> Runbook | None:
        """The runbook that applies to an issue with these alerts' labels (configured or bundled), or None.

        The one question "does a runbook apply?": the Auto-fix button, a run, and whoever
        classifies issues ask it the same way."""
        found = self.match(alerts_labels)
        return found.runbook if found else None

    def has_match(self, alerts_labels: Sequence[Mapping[str, str]]) -> bool:
        return self.match(alerts_labels) is not None


_ESCAPED = re.compile(r"\\(.)")


def _alertname_list(runbook: Runbook) -> frozenset[str] | None:
    """The alert names a runbook matches when that is all it matches on (`match_re: {alertname: A|B}`,
    each name escaped, as handlers/autofix/library.py writes them); None for any other matcher."""
    if runbook.match or set(runbook.match_re) != {"alertname"}:
        return None
    names = []
    for part in runbook.match_re["alertname"].split("|"):
        name = _ESCAPED.sub(r"\1", part)
        if not name or re.escape(name) != part:
            return None
        names.append(name)
    return frozenset(names)


def _keeping_alerts(runbook: Runbook, bundled: Runbook | None) -> Runbook:
    if bundled is None or runbook.match or runbook.match_re:
        return runbook
    return runbook.model_copy(update={"match": bundled.match, "match_re": bundled.match_re})
