"""What a silence from Slack matches, and which Alertmanager an alert came from.

The Alertmanager webhook's `externalURL` is kept in the alert's annotations under EXTERNAL_URL_KEY
(handlers/alerts/parsers.py writes it, replacing any value a sender put there), beside the other
keys opsbot keeps for itself: a key starting with "__" is never shown or forwarded.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

EXTERNAL_URL_KEY = "__alertmanager_url"
ALERTMANAGER_SOURCE = "alertmanager"


def build_matchers(label_sets: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Exact (`isEqual`, never regex) matchers on the labels every one of the issue's alerts shares.

    Why all of them rather than a chosen few: in Alertmanager an alert *is* its label set (two alerts
    with the same labels are one alert; values that change, such as a measurement, live in the
    annotations), so no label of a firing alert is volatile. For an issue of one alert, matching
    every label silences exactly that alert, as Alertmanager's own "Silence" link does, and not the
    same alert on another instance or in another environment; picking "identifying" labels by name
    would guess at each team's label scheme and silence too much when the guess is wrong. For a
    grouped issue (an alert storm), the labels its alerts share are what made them one group (at
    least the alert name): the silence covers the group, members that join it later included.
    Labels with an empty value are left out: `name=""` would also match alerts without the label.
    Alert name first, then by name, as Alertmanager shows them.
    """
    if not label_sets:
        return []
    shared = {name: value for name, value in label_sets[0].items() if value}
    for labels in label_sets[1:]:
        shared = {name: value for name, value in shared.items() if labels.get(name) == value}
    names = sorted(shared, key=lambda name: (name != "alertname", name))
    return [{"name": name, "value": shared[name], "isRegex": False, "isEqual": True} for name in names]


def describe_matchers(matchers: Sequence[Mapping[str, Any]]) -> str:
    """`alertname="DiskFull", instance="db-1"`: Alertmanager's own notation, for people to read."""
    return ", ".join(f'{m["name"]}="{_quoted(str(m["value"]))}"' for m in matchers)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
