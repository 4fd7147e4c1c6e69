"""Comparing two versions of a file by element id, on real files and modified copies."""
from __future__ import annotations

import pytest

from engine.compare import compare_bpmn
from engine.errors import InvalidBpmn
from tests.conftest import BPMN_DIR

from . import versions
from .helpers import DATA


def _by_id(diffs):
    return {d.id: d for d in diffs}


def test_same_file_has_no_differences():
    data = (BPMN_DIR / "billing_inquiry.bpmn").read_bytes()
    assert compare_bpmn(data, data).identical


def test_added_and_changed_elements_with_what_changed():
    result = compare_bpmn(versions.DEVIATIONS.encode(), versions.deviations_with_review().encode())
    assert set(_by_id(result.added)) == {"Review", "F9"}
    assert result.removed == ()
    changed = _by_id(result.changed)
    assert set(changed) == {"Check", "F8"}
    check = {c.attribute: c for c in changed["Check"].changes}
    assert (check["name"].before, check["name"].after) == ("Check credit", "Check credit score")
    assert (check["sla"].before, check["sla"].after) == (None, "PT8H")
    assert [c.attribute for c in changed["F8"].changes] == ["target"]
    assert result.right_markers()["Review"] == ["added"]
    assert result.left_markers()["Check"] == ["changed"]


def test_removed_elements_and_lane_and_type_changes():
    result = compare_bpmn(versions.DEVIATIONS.encode(), versions.deviations_without_check().encode())
    removed = _by_id(result.removed)
    assert {"Check", "Reminder", "Escalate", "F3"} <= set(removed)
    assert removed["Check"].type == "userTask" and removed["Check"].name == "Check credit"
    assert "F2" in _by_id(result.changed)
    assert result.left_markers()["Check"] == ["removed"]

    manual = compare_bpmn(versions.DEVIATIONS.encode(), versions.deviations_check_manual().encode())
    [change] = _by_id(manual.changed)["Check"].changes
    assert (change.attribute, change.before, change.after) == ("type", "userTask", "manualTask")

    moved = versions.DEVIATIONS.replace(
        "<bpmn:flowNodeRef>Capture</bpmn:flowNodeRef>", "", 1)
    lanes = compare_bpmn(versions.DEVIATIONS.encode(), moved.encode())
    capture = {c.attribute: c for c in _by_id(lanes.changed)["Capture"].changes}
    assert capture["lane"].before == "Customer Care" and capture["lane"].after != "Customer Care"


def test_form_field_and_condition_changes():
    src = versions.DEVIATIONS
    assert 'camunda:formField id="amount"' in src
    edited = src.replace('<camunda:formField id="amount" label="Amount" type="long" defaultValue="0" />',
                         '<camunda:formField id="amount" label="Amount" type="string" />'
                         '<camunda:formField id="note" label="Note" type="string" />')
    assert "amount &gt; 100<" in src
    edited = edited.replace("amount &gt; 100<", "amount &gt; 2000<")
    result = _by_id(compare_bpmn(src.encode(), edited.encode()).changed)
    [form] = result["Capture"].changes
    assert form.attribute == "form"
    assert "added note" in form.after and "amount changed (type, default)" in form.after
    [cond] = result["F_high"].changes
    assert (cond.attribute, cond.before, cond.after) == ("condition", "amount > 100", "amount > 2000")


def test_diagram_moves_are_not_changes():
    data = (BPMN_DIR / "billing_inquiry.bpmn").read_text()
    moved = data.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)
    assert moved != data
    assert compare_bpmn(data.encode(), moved.encode()).identical


def test_unreadable_file_is_refused():
    with pytest.raises(InvalidBpmn):
        compare_bpmn((DATA / "parallel.bpmn").read_bytes(), b"<not-bpmn/>")
