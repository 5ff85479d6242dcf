"""RunbookCatalog looks runbooks that match only alert names up by name: the answers must be those of
trying every runbook in catalog order, configured ones first, whatever mix of alerts an issue has."""

from __future__ import annotations

import itertools

from handlers.autofix.library import bundled_runbooks
from handlers.autofix.runbooks import Runbook, RunbookCatalog, RunbookMatch


def _walk(catalog: RunbookCatalog, alerts: list[dict[str, str]]) -> RunbookMatch | None:
    for runbook in catalog._runbooks:  # the definition: first runbook in order, first alert it matches
        for labels in alerts:
            if runbook.matches(labels):
                return RunbookMatch(runbook, labels)
    return None


def _manual(runbook_id: str, **matchers: dict[str, str]) -> Runbook:
    return Runbook.model_validate(
        {"id": runbook_id, "title": runbook_id, "steps": [{"kind": "manual", "name": "look", "text": "Look."}], **matchers}
    )


def test_the_lookup_answers_as_the_ordered_walk_does() -> None:
    bundled = bundled_runbooks()
    configured = [
        _manual("by-instance", match_re={"instance": "db-.*"}),  # tried before every bundled one
        _manual("by-names", match_re={"alertname": "DiskFull|HighCPU"}),  # indexed, ahead of the bundled
        _manual("odd-name", match_re={"alertname": r"Disk\|Full"}),  # a `|` inside a name: tried, not indexed
    ]
    catalog = RunbookCatalog(configured, bundled)
    names = ["DiskFull", "HighCPU", "HighErrorRate", "DiskSpaceLow", "Disk|Full", "NoSuchAlert", ""]
    instances = ["db-1", "web-1"]
    alerts = [{"alertname": name, "instance": instance} for name in names for instance in instances]
    checked = 0
    for size in (1, 2):
        for combination in itertools.permutations(alerts, size):
            combination = [dict(labels) for labels in combination]
            assert catalog.match(combination) == _walk(catalog, combination), combination
            checked += 1
    assert checked > 100
    assert catalog.runbook_for([{"alertname": "DiskFull", "instance": "web-1"}]).id == "by-names"
    assert catalog.runbook_for([{"alertname": "DiskFull", "instance": "db-1"}]).id == "by-instance"
    assert catalog.runbook_for([{"alertname": "Disk|Full", "instance": "web-1"}]).id == "odd-name"
    assert catalog.runbook_for([{"alertname": "DiskSpaceLow", "instance": "web-1"}]).id == "RB-INF-03"
