"""Everyday deviations on the shipped processes: each lands where the agent's reason says it should
and the case still runs to a proper end, plain and across save/restore."""
from __future__ import annotations

import pytest

from tests.conftest import T0

from .harness import Run, Scenario, go_back, override, ready, reached_ends, skip, wait
from .scenarios import (_ACKNOWLEDGED, _APPLIED, _ASKED, _BACK, _BOOKED, _CLOSED, _COMPLAINT,
                        _CORRECT, _DISPATCHED, _ELIGIBLE, _EXPLAINED, _FAULT, _FIELD,
                        _FIXED_REMOTELY, _INQUIRY, _INSTALLED, _JUSTIFIED, _LINKED, _MOVE_BOOKED,
                        _MOVE_CONFIRMED, _MOVE_INSTALLED, _MOVE_PROVISIONED, _NO_REPLY, _ORDER,
                        _OUTAGE, _PROVISIONED, _PUT_RIGHT, _REMOTE, _REPAIRED, _SEVEN_DAYS,
                        _TEST_PASSED, _WORKS, _request, do)

DEVIATIONS = [
    ("install_service", Scenario("customer_not_at_home_rebooks_the_appointment", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, ready("Task_InstallOnSite"),
        go_back("Task_AgreeAppointment"), ready("Task_AgreeAppointment"),
        _BOOKED, _PROVISIONED, _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",))),
    ("install_service", Scenario("test_tool_down_skips_the_activation_test", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED, skip("Task_ActivationTest"),
        ready("Task_ConfirmWorking"), _WORKS,
    ), ("EndEvent_ServiceWorking",))),
    ("install_service", Scenario("customer_unreachable_skips_the_confirmation", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED, _TEST_PASSED,
        skip("Task_ConfirmWorking"),
    ), ("EndEvent_ServiceWorking",))),
    ("restore_service", Scenario("vulnerable_customer_gets_a_technician", (
        _FAULT, _REMOTE, ready("Task_RemoteFix"),
        override("Gateway_FixRoute", "Task_DispatchTechnician"), ready("Task_DispatchTechnician"),
        _DISPATCHED, _REPAIRED, _BACK,
    ), ("EndEvent_Restored",))),
    ("restore_service", Scenario("rework_keeps_the_restoration_clock_running", (
        _FAULT, _FIELD, _DISPATCHED, go_back("Task_RemoteDiagnosis"), ready("Task_RemoteDiagnosis"),
        wait(hours=20), ready("Task_ExpediteRestoration", "Task_RemoteDiagnosis"),
        _REMOTE, _FIXED_REMOTELY, _BACK,
    ), ("EndEvent_Restored",))),
    ("restore_service", Scenario("vulnerable_customer_does_not_wait_for_the_outage", (
        _FAULT, _OUTAGE, _LINKED, wait(hours=2), ready(),
        override("Gateway_Outage", "Gateway_FixRoute"), ready("Task_DispatchTechnician"),
        _DISPATCHED, _REPAIRED, wait(hours=12), ready("Task_VerifyWithCustomer"), _BACK,
    ), ("EndEvent_Restored",))),
    ("restore_service", Scenario("customer_unreachable_skips_the_verification", (
        _FAULT, _REMOTE, _FIXED_REMOTELY, skip("Task_VerifyWithCustomer"),
    ), ("EndEvent_Restored",))),
    ("billing_inquiry", Scenario("goodwill_credit_on_a_correct_invoice", (
        _INQUIRY, _CORRECT, ready("Task_ExplainOutcome"),
        override("Gateway_InvoiceWrong", "Gateway_Determine"),
        ready("Task_DetermineAdjustment"),
        do("Task_DetermineAdjustment", adjustment_type="credit_note", credit_amount=25),
        _APPLIED, _EXPLAINED,
    ), ("EndEvent_Answered",))),
    ("complaint", Scenario("customer_unreachable_skips_the_follow_up", (
        _COMPLAINT, _ACKNOWLEDGED, _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY,
        skip("Task_FollowUp"),
        ready("Task_CloseComplaint"), _CLOSED,
    ), ("EndEvent_Closed",))),
    ("change_service", Scenario("address_already_checked_in_the_shop", (
        _request("req_move"), skip("Task_CheckNewAddress"), ready("Task_BookMove"), _MOVE_BOOKED,
        _MOVE_PROVISIONED, _MOVE_INSTALLED, _MOVE_CONFIRMED,
    ), ("EndEvent_Moved",))),
]


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


@pytest.mark.parametrize("process_id,scenario", DEVIATIONS, ids=[f"{p}-{s}" for p, s in DEVIATIONS])
def test_deviation_lands_where_it_should(process_id, scenario, roundtrip):
    run = Run(process_id, roundtrip, T0)
    instance = run.play(scenario)
    assert run.ready_ids() == () and instance.is_completed
    assert set(scenario.ends) <= reached_ends(instance)
