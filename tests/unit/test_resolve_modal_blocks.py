"""The Resolve modal and what modals opened from issue buttons carry, on their dict output."""

from __future__ import annotations

import pytest
from slack_sdk.models.views import View

from handlers.issues.resolve_modal import ROOT_CAUSE_CATEGORIES, ResolveForm, build_resolve_modal
from handlers.issues.modals import ModalOrigin, selected_value, state_values, text_value
from handlers.errors import InvalidInput


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


def test_modal_origin_round_trips_and_refuses_garbage() -> None:
    origin = ModalOrigin(12, "C0LOCAL", "1.2")
    assert ModalOrigin.decode(origin.encode()) == origin
    assert ModalOrigin.decode('{"issue": "3"}') == ModalOrigin(3)
    for bad in ("", "not json", '{"issue": "x"}', "[]", '{"channel": "C1"}'):
        with pytest.raises(InvalidInput):
            ModalOrigin.decode(bad)


def test_state_values_read_inputs_selects_and_radios() -> None:
    view = {
        "state": {
            "values": {
                "a": {"a": {"type": "plain_text_input", "value": "  hello  "}},
                "b": {"b": {"type": "static_select", "selected_option": {"value": "database"}}},
                "c": {"c": {"type": "radio_buttons", "selected_option": None}},
                "d": {"d": {"type": "plain_text_input", "value": None}},
            }
        }
    }
    values = state_values(view)
    assert text_value(values, "a") == "hello" and text_value(values, "d") == "" and text_value(values, "zz") == ""
    assert selected_value(values, "b") == "database" and selected_value(values, "c") == ""
    assert state_values({}) == {}
