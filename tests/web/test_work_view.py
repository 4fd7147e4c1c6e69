"""View models of the agent's pages: urgency, durations, form fields and timeline sentences."""
from __future__ import annotations

from datetime import timedelta

from cases.case_view import describe, form_fields, humanize, urgency
from cases.reason_codes import ReasonCode
from engine.forms import EnumValue, Form, FormField
from tests.conftest import T0


def test_urgency_on_time_at_risk_breached_and_none():
    due = T0 + timedelta(hours=10)
    assert urgency(T0, due, T0 + timedelta(hours=7)).state == "on_time"
    at_risk = urgency(T0, due, T0 + timedelta(hours=8))
    assert (at_risk.state, at_risk.label, at_risk.left) == ("at_risk", "At risk", "2 h left")
    assert urgency(T0, due, T0 + timedelta(hours=8), at_risk=0.9).state == "on_time"
    late = urgency(T0, due, T0 + timedelta(hours=11, minutes=5))
    assert (late.state, late.left) == ("breached", "1 h 5 min late")
    assert urgency(T0, None, T0).state == "none"


def test_humanize_reads_like_people_talk():
    assert humanize(timedelta(days=2, hours=3, minutes=5)) == "2 d 3 h"
    assert humanize(timedelta(days=1)) == "1 d"
    assert humanize(timedelta(minutes=45)) == "45 min"
    assert humanize(timedelta(seconds=20)) == "under a minute"


FORM = Form((FormField("name", "Name", required=True, default="Ada"),
             FormField("ok", "Works", type="boolean"),
             FormField("slot", "Slot", type="enum", values=(EnumValue("am", "Morning"),))))


def test_form_fields_prefer_typed_then_stored_then_default():
    fields = {f.id: f for f in form_fields(FORM)}
    assert fields["name"].value == "Ada" and fields["name"].required
    assert not fields["ok"].checked and fields["slot"].choices == (("am", "Morning"),)
    stored = {f.id: f for f in form_fields(FORM, {"name": "Bea", "ok": True})}
    assert stored["name"].value == "Bea" and stored["ok"].checked
    typed = {f.id: f for f in form_fields(FORM, {"name": "Bea", "ok": True}, {"name": ""},
                                          {"name": "This field is required"})}
    assert typed["name"].value == "" and typed["name"].error == "This field is required"
    assert not typed["ok"].checked, "an unticked box stays unticked after an error"


def test_deviation_sentence_names_who_what_and_why():
    reasons = {"dup": ReasonCode(code="dup", label="Duplicate order", category="internal_failure",
                                 kinds="skip")}
    text = describe("task_skipped", {"reason_code": "dup", "reason_category": "internal_failure",
                                     "note": "Same as case 4"},
                    who="Ann Agent", step="Check eligibility", names={}, people={},
                    reasons=reasons)
    assert text == ("Ann Agent skipped “Check eligibility” — reason: Duplicate order "
                    "(internal failure): Same as case 4")
    moved = describe("work_item_reassigned", {"to": {"team": "Billing", "assignee_id": None},
                                              "reason_code": "dup", "note": "n"},
                     who="Sam", step="Check", names={}, people={}, reasons=reasons)
    assert moved.startswith("Sam handed “Check” to Billing — reason: Duplicate order")
    assert describe("something_new", {}, who="Ann", step=None, names={}, people={},
                    reasons={}) == "Ann: something new"


def test_every_event_reads_even_with_facts_other_events_shape_differently():
    kw = {"who": "Ann", "step": None, "names": {}, "people": {}, "reasons": {}}
    assert describe("case_opened", {"channel": "web", "priority": 2}, **kw) == \
        "Ann opened the case (by web)"
    breached = describe("sla_breached", {"scope": "case", "priority": {"from": 0, "to": 1}}, **kw)
    assert breached == ("The promise to the customer missed its deadline; a supervisor was alerted "
                        "and the priority went up")
    assert describe("sla_breached", {"priority": 5}, **kw) == "Ann: sla breached"
