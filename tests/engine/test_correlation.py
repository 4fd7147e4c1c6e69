"""Message correlation on a real file: subscriptions carry what each catch expects, a message
with correlation values reaches only a catch that fits, plain and after save/restore."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import runtime
from engine.definitions import process_from_spec_json
from engine.errors import MessageNotCorrelated, ScriptFailed
from engine.messages import send_message
from engine.waits import Subscription
from tests.conftest import T0

from .helpers import DATA, Runner, complete, compile_file, ready_ids, task_for

ORDER = {"order_id": "A-1", "claim_id": 7}


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def run(request):
    process = compile_file(DATA / "correlation.bpmn")
    if request.param:
        process = process_from_spec_json(process.process_id, process.spec_json())
    return Runner(process, request.param)


def _waiting(run, data=ORDER):
    inst = run.start(dict(data), now=T0)
    complete(inst, "Order", now=T0)
    return run.again(inst)


def test_subscriptions_carry_the_expected_values(run):
    inst = _waiting(run)
    assert inst.subscriptions() == [
        Subscription("message", "claim_settled", "Claim", {"claim_id": 7}),
        Subscription("message", "supplier_replied", "Reply", {"order_id": "A-1"}),
    ]


def test_a_value_not_in_the_data_yet_expects_nothing(run):
    inst = _waiting(run, {"claim_id": 7})
    reply = [s for s in inst.subscriptions() if s.element_id == "Reply"]
    assert reply == [Subscription("message", "supplier_replied", "Reply", {})]


def test_matching_message_is_caught(run):
    inst = _waiting(run)
    caught = send_message(inst, "supplier_replied", {"part": "valve"}, now=T0,
                          correlation={"order_id": "A-1"})
    assert caught is True
    event = inst.drain_events()[-1]
    assert event.type == "message_delivered" and event.element_id == "Reply"
    assert event.detail["correlation"] == {"order_id": "A-1"}
    inst = run.again(inst)
    assert ready_ids(inst) == ["Fit"] and task_for(inst, "Fit").data["reply"] == {"part": "valve"}
    assert [s.element_id for s in inst.subscriptions()] == ["Claim", "Note"]


def test_mismatching_message_is_refused_and_not_kept(run):
    inst = _waiting(run)
    with pytest.raises(MessageNotCorrelated) as err:
        send_message(inst, "supplier_replied", {"part": "valve"}, now=T0,
                     correlation={"order_id": "B-2"})
    assert "Reply" in str(err.value) and "order_id='A-1'" in str(err.value)
    assert "order_id='B-2'" in str(err.value)
    inst = run.again(inst)
    assert inst.envelope["inbox"] == [] and ready_ids(inst) == []
    assert "supplier_replied" in inst.waiting_messages()


def test_two_waits_with_different_keys(run):
    inst = _waiting(run)
    with pytest.raises(MessageNotCorrelated, match="carries no claim_id"):
        send_message(inst, "claim_settled", {}, now=T0, correlation={"order_id": "A-1"})
    assert send_message(inst, "claim_settled", {}, now=T0, correlation={"claim_id": 7}) is True
    inst = run.again(inst)
    assert ready_ids(inst) == ["Book"]
    assert send_message(inst, "supplier_replied", {}, now=T0, correlation={"order_id": "A-1"})
    inst = run.again(inst)
    assert ready_ids(inst) == ["Book", "Fit"]


def test_correlated_message_sent_early_waits_for_a_fitting_catch(run):
    inst = run.start(dict(ORDER), now=T0)
    for n, order in ((1, "B-2"), (2, "A-1")):
        assert send_message(inst, "supplier_replied", {"n": n}, now=T0,
                            correlation={"order_id": order}) is False
    inst = run.again(inst)
    complete(inst, "Order", now=T0 + timedelta(minutes=5))
    inst = run.again(inst)
    assert ready_ids(inst) == ["Fit"] and task_for(inst, "Fit").data["reply"] == {"n": 2}
    assert [m["correlation"] for m in inst.envelope["inbox"]] == [{"order_id": "B-2"}], \
        "the message for another order stays undelivered"


def test_message_without_correlation_keeps_the_per_case_route(run):
    inst = _waiting(run)
    assert send_message(inst, "supplier_replied", {"part": "valve"}, now=T0) is True
    assert ready_ids(run.again(inst)) == ["Fit"]


def test_message_without_values_after_the_instance_correlated(run):
    """Once an instance holds correlations, SpiffWorkflow refuses an event without any; the inbox
    used to answer "caught" for such a message and drop it while the process kept waiting."""
    inst = _waiting(run)
    send_message(inst, "supplier_replied", {}, now=T0, correlation={"order_id": "A-1"})
    inst = run.again(inst)
    assert send_message(inst, "claim_settled", {}, now=T0) is True
    assert ready_ids(run.again(inst)) == ["Book", "Fit"]
    assert send_message(inst, "note_added", {"text": "call first"}, now=T0) is True
    assert ready_ids(run.again(inst)) == ["Book", "Fit", "ReadNote"]


def test_failing_correlation_expression_is_a_script_failure_at_the_element():
    process = compile_file(DATA / "failing_events.bpmn")
    inst = runtime.start(process, now=T0)
    complete(inst, "Enter", {"wait_for": "PT1H", "order_ref": 12}, now=T0)
    with pytest.raises(ScriptFailed) as err:
        inst.advance(now=T0 + timedelta(hours=1))
        inst.subscriptions()
    assert err.value.element_id == "Confirmed"


def test_correlation_computed_from_data():
    process = compile_file(DATA / "failing_events.bpmn")
    inst = runtime.start(process, now=T0)
    complete(inst, "Enter", {"wait_for": "PT1H", "order_ref": "ab-9"}, now=T0)
    inst.advance(now=T0 + timedelta(hours=1))
    assert inst.subscriptions() == [
        Subscription("message", "order_confirmed", "Confirmed", {"order_code": "AB-9"})]
    assert send_message(inst, "order_confirmed", {}, now=T0 + timedelta(hours=1),
                        correlation={"order_code": "AB-9"}) is True
    assert inst.is_completed
