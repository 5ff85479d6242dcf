"""Split a Markdown file into front matter and body: YAML (`---`, Hugo and Jekyll), TOML (`+++`,
Hugo) or JSON (`{ ... }`, Hugo), or none.

Written here rather than with python-frontmatter because that needs the third-party `toml`
package for `+++` while `tomllib` is in the standard library, and because a broken header must
not stop a whole KB from loading: it is reported as a problem and the body is still used.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class FrontMatter:
    data: dict[str, Any]
    body: str
    kind: str
    """"yaml", "toml", "json" or "none"."""
    problem: str | None = None


def split_front_matter(text: str) -> FrontMatter:
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0].rstrip()
    if first_line == "---":
        return _split_fenced(text, "---", ("---", "..."), "yaml", _parse_yaml)
    if first_line == "+++":
        return _split_fenced(text, "+++", ("+++",), "toml", tomllib.loads)
    if first_line == "{":
        return _split_json(text)
    return FrontMatter({}, text, "none")


def _split_fenced(text: str, opening: str, closings: tuple[str, ...], kind: str, parse) -> FrontMatter:
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if lines[index].rstrip() in closings:
            header = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            try:
                data = parse(header) if header.strip() else {}
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
                return FrontMatter({}, body, kind, f"invalid {kind} front matter: {_one_line(error)}")
            if not isinstance(data, dict):
                return FrontMatter({}, body, kind, f"{kind} front matter is not a mapping")
            return FrontMatter(data, body, kind)
    # An opening fence with no closing one: a thematic break, not front matter.
    return FrontMatter({}, text, "none", f"'{opening}' on the first line is never closed")


def _parse_yaml(header: str) -> Any:
    return yaml.safe_load(header)


def _split_json(text: str) -> FrontMatter:
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        return FrontMatter({}, text, "json", f"invalid json front matter: {_one_line(error)}")
    if not isinstance(data, dict):
        return FrontMatter({}, text, "json", "json front matter is not an object")
    return FrontMatter(data, text[end:].lstrip("\r\n"), "json")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
