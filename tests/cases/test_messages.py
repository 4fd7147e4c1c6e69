"""Messages into a case: a repeat contact while the network is provisioned opens the update step."""
from __future__ import annotations

import pytest
from sqlmodel import select

from cases.errors import InvalidInput
from cases.events import CaseEvent
from cases.external_tasks import service as ext
from cases.messages import deliver_message
from tests.cases.test_case_service import _open_items, _snapshot
from tests.cases.test_deviations import _case
from tests.conftest import T0


def test_a_repeat_contact_is_caught_and_opens_a_step(session, install, people, customer):
    case = _case(session, people, customer, steps=3)
    assert _open_items(session, case.id) == []  # the activation system provisions the line
    assert [t.element_id for t in ext.for_case(session, case.id)] == ["Task_ProvisionNetwork"]
    case, caught = deliver_message(session, actor=people.ann, now=T0, case_id=case.id,
                                   name="customer_contacted_again", payload={"channel": "phone"})
    assert caught
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_UpdateCustomerOrder"]
    assert [t.element_id for t in ext.for_case(session, case.id)] == ["Task_ProvisionNetwork"]
    types = session.exec(select(CaseEvent.type).where(CaseEvent.case_id == case.id)
                         .order_by(CaseEvent.seq)).all()
    assert "message_sent" in types and "message_received" in types


def test_an_early_message_waits_in_the_inbox_and_unknown_names_are_refused(session, install, people,
                                                                           customer):
    case = _case(session, people, customer)
    case, caught = deliver_message(session, actor=people.ann, now=T0, case_id=case.id,
                                   name="customer_contacted_again")
    assert not caught
    assert [i.element_id for i in _open_items(session, case.id)] == ["Task_CaptureOrder"]
    before = _snapshot(session, case.id)
    with pytest.raises(InvalidInput, match="customer_contacted_again"):
        deliver_message(session, actor=people.ann, now=T0, case_id=case.id, name="payment_received")
    assert _snapshot(session, case.id) == before
