"""The Resolve modal on its dict output, and its answers read back from a submission."""

from __future__ import annotations

from slack_sdk.models.views import View

from handlers.issues.resolve_modal import ROOT_CAUSE_CATEGORIES, ResolveForm, build_resolve_modal
from handlers.issues.buttons import Resolution
from handlers.slack.metadata import ModalMetadata, encode_metadata
from handlers.slack.payloads import FormValues, Submission


def test_resolve_modal_asks_for_resolution_and_root_cause_and_is_valid_for_slack() -> None:
    modal = build_resolve_modal(ResolveForm(7, "Disk <full> on db-1", "infrastructure", private_metadata="{}"))
    View(**modal).validate_json()
    assert modal["callback_id"] == "issue.resolve.modal"
    assert "Disk &lt;full&gt; on db-1" in modal["blocks"][0]["text"]["text"]
    inputs = {block["block_id"]: block for block in modal["blocks"] if block["type"] == "input"}
    assert list(inputs) == ["resolve.resolution", "resolve.root_cause_category", "resolve.root_cause"]
    assert not inputs["resolve.resolution"].get("optional") and inputs["resolve.root_cause"]["optional"] is True
    category = inputs["resolve.root_cause_category"]["element"]
    assert [option["value"] for option in category["options"]] == [value for value, _ in ROOT_CAUSE_CATEGORIES]
    assert [value for value, _ in ROOT_CAUSE_CATEGORIES] == [
        "database", "application", "infrastructure", "third-party", "security", "other"
    ]
    assert category["initial_option"]["value"] == "infrastructure"


def test_an_unknown_category_is_not_preselected() -> None:
    modal = build_resolve_modal(ResolveForm(7, "x", "weird"))
    category = next(b for b in modal["blocks"] if b.get("block_id") == "resolve.root_cause_category")
    assert "initial_option" not in category["element"]


def test_the_resolution_is_read_from_the_submission_and_checked() -> None:
    values = {
        "resolve.resolution": {"resolve.resolution": {"type": "plain_text_input", "value": "  Restarted  "}},
        "resolve.root_cause_category": {"resolve.root_cause_category": {"type": "static_select", "selected_option": {"value": "database"}}},
        "resolve.root_cause": {"resolve.root_cause": {"type": "plain_text_input", "value": None}},
    }
    metadata = encode_metadata(issue=12, channel="C0LOCAL", ts="1.2")
    answers = Resolution.read(Submission("issue.resolve.modal", "U0A", FormValues(values), ModalMetadata.decode(metadata)))
    assert answers == Resolution(12, "Restarted", "database", "") and answers.problems() == {}

    lost = Resolution.read(Submission("issue.resolve.modal", "U0A", FormValues({}), ModalMetadata.decode("[]")))
    assert lost.issue_id is None
    assert set(lost.problems()) == {"resolve.resolution", "resolve.root_cause_category"}
