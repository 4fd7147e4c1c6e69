"""The shipped eligibility decision table in the case layer (SQLite and PostgreSQL): the decision's
inputs and outcome in the case's events, an override of its outcome, the pinned table version a
running case keeps, and the overrides counted per decision."""
from __future__ import annotations

import json

import pytest

from sqlmodel import select

from cases import deviation_service as dev
from cases.case_view import case_view
from cases.definition_files import upload_set
from cases.events import CaseEvent
from cases.insights import redesign_candidates
from engine.dmn_store import DefinitionFile, ModelFile
from engine.store import DefinitionVersion
from tests.cases.test_deviations import NOTE, _case, _item
from tests.conftest import BPMN_DIR, T0


def _decisions(session, case) -> list[dict]:
    rows = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                CaseEvent.type == "decision_evaluated")
                        .order_by(CaseEvent.seq)).all()
    return [json.loads(r.details) | {"element_id": r.element_id} for r in rows]


def test_the_decision_is_logged_with_what_it_read_and_decided(session, install, people, customer):
    case = _case(session, people, customer, steps=2)
    assert _item(session, case).element_id == "Task_AgreeAppointment"
    [event] = _decisions(session, case)
    assert event["element_id"] == "Task_DecideEligibility"
    assert event["inputs"] == {"Address can be served": True, "Credit check result": "passed"}
    assert event["outcome"] == {"eligible": True, "decline_reason": None}
    assert event["rules"] == ["Rule_Eligible"] and event["overridden"] is False
    words = [t.text for t in case_view(session, case.id, now=T0).timeline]
    [said] = [w for w in words if w.startswith("Caseflow decided “Decide eligibility”")]
    assert "eligible = yes" in said and "(rule 3)" in said and "Credit check result passed" in said


def test_the_table_is_pinned_to_the_version_the_case_runs_on(session, install, people, customer):
    case = _case(session, people, customer)
    version = session.get(DefinitionVersion, case.definition_id)
    [pinned] = session.exec(select(ModelFile).join(
        DefinitionFile, DefinitionFile.model_file_id == ModelFile.id).where(
        DefinitionFile.definition_id == version.id)).all()
    assert (pinned.kind, pinned.key, pinned.version) == ("dmn", "Decision_InstallEligibility", 1)
    # A stricter table, uploaded on its own, makes a new draft; this case keeps v1 of the table.
    stricter = (BPMN_DIR / "install_eligibility.dmn").read_bytes().replace(
        b"<text>\"refused\"</text>", b"<text>? in (\"refused\", \"passed_with_deposit\")</text>")
    result = upload_set(session, [("install_eligibility.dmn", stricter)], actor="dana", now=T0)
    assert result.stored and [v.version for v in result.versions] == [version.version + 1]
    assert result.versions[0].status == "draft"
    case = _case(session, people, customer, steps=2)  # new cases still start on the active one
    assert case.definition_id == version.id
    assert _decisions(session, case)[0]["outcome"]["eligible"] is True


def test_an_override_of_the_decision_applies_the_chosen_rule(session, install, people, customer):
    case = _case(session, people, customer, steps=2)
    view = case_view(session, case.id, now=T0)
    [table] = [g for g in view.gateways if g.id == "Task_DecideEligibility"]
    assert [c.value for c in table.branches] == ["Rule_NotServiceable", "Rule_CreditRefused",
                                                  "Rule_Eligible"]
    case = dev.override_decision(session, actor=people.sam, now=T0, case_id=case.id,
                                 expected_version=case.row_version,
                                 reason_code="decision_rule_wrong", note=NOTE,
                                 gateway_id="Task_DecideEligibility",
                                 target_id="Rule_CreditRefused")
    assert _item(session, case).element_id == "Task_ExplainDecline"
    latest = _decisions(session, case)[-1]
    assert latest["overridden"] is True and latest["outcome"] == {
        "eligible": False, "decline_reason": "credit_refused"}
    words = [t.text for t in case_view(session, case.id, now=T0).timeline]
    assert any("chosen by an agent's override" in w for w in words)
    assert any("Rule 2: eligible = False" in w for w in words)  # the override names the rule
    version = session.get(DefinitionVersion, case.definition_id)
    found = [f for f in redesign_candidates(session, version, now=T0)
             if f.element_id == "Task_DecideEligibility"]
    assert found and found[0].pattern == "overridden" and found[0].count == 1
    assert "decision table" in found[0].action


def test_a_camunda_form_step_is_checked_and_correctable_like_form_data(session, people, customer):
    from cases.case_service import complete_step, open_case
    from cases.errors import InvalidInput
    from tests.cases.test_case_service import _open_items
    from tests.conftest import DATA

    names = ("credit_check.bpmn", "credit_limit.dmn", "application.form", "confirm_offer.form")
    files = [(n, (DATA / "camunda_set" / n).read_bytes()) for n in names]
    result = upload_set(session, files, actor="dana", now=T0)
    assert result.stored and not result.warnings
    from cases.definitions import activate

    activate(session, actor="dana", now=T0, definition_id=result.versions[0].id)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="Process_CreditCheck", channel="phone")
    [item] = _open_items(session, case.id)
    with pytest.raises(InvalidInput) as refused:
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data={"applicant_name": "Ada", "credit_score": "-5", "channel": "web"},
                      expected_version=case.row_version)
    assert "credit_score" in refused.value.errors
    case = complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                         data={"applicant_name": "Ada", "credit_score": "350", "channel": "web"},
                         expected_version=case.row_version)
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_ExplainRefusal"]
    view = case_view(session, case.id, now=T0)
    [entry] = [c for c in view.corrections if c.id == "Task_EnterApplication"]
    assert "Credit score (now: 350)" in [b.label for b in entry.branches]
