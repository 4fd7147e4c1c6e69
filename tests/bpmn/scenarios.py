"""Scenarios for every shipped process: the happy path, each gateway branch, each timer, each repeat
contact.

Together the scenarios of a process must go along every sequence flow of its file (checked by
test_processes.test_scenarios_cover_every_flow).
"""
from __future__ import annotations

from .harness import Scenario, bpmn_error, contact, do, message, ready, signal, wait

# ---- install_service -------------------------------------------------------------------------

_ORDER = do("Task_CaptureOrder", customer_id="C-1001", product="fibre_broadband",
            installation_address="12 Harbour Road, Dunmore", contact_phone="+353 1 555 0101",
            requested_date="2026-03-10")
_ELIGIBLE = do("Task_CheckEligibility", address_serviceable=True, credit_result="passed")
_BOOKED = do("Task_AgreeAppointment", appointment_date="2026-03-06", appointment_slot="morning",
             access_notes="Side gate, dog friendly")
_PROVISIONED = do("Task_ProvisionNetwork", network_port="DUN-OLT3-P12", line_profile="p500")
_INSTALLED = do("Task_InstallOnSite", technician_id="T-77", equipment_serial="HGW-5531-009")
_TEST_PASSED = do("Task_ActivationTest", activation_ok=True, failure_cause="no_fault",
                  measured_speed_mbps=512)
_WORKS = do("Task_ConfirmWorking", service_working=True, satisfaction=5)

INSTALL = [
    Scenario("happy_path", (
        ready("Task_CaptureOrder"), _ORDER, _ELIGIBLE, ready("Task_AgreeAppointment"), _BOOKED,
        ready("Task_ProvisionNetwork"), _PROVISIONED, _INSTALLED, _TEST_PASSED,
        ready("Task_ConfirmWorking"), _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("address_not_served", (
        _ORDER, do("Task_CheckEligibility", address_serviceable=False, credit_result="passed"),
        ready("Task_ExplainDecline"),
        do("Task_ExplainDecline", decline_reason="not_serviceable",
           alternative_offered="mobile_broadband"),
    ), ("EndEvent_OrderDeclined",)),
    Scenario("credit_refused", (
        _ORDER, do("Task_CheckEligibility", address_serviceable=True, credit_result="refused"),
        do("Task_ExplainDecline", decline_reason="credit_refused", alternative_offered="prepaid"),
    ), ("EndEvent_OrderDeclined",)),
    Scenario("activation_fails_in_the_network", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED,
        do("Task_ActivationTest", activation_ok=False, failure_cause="network",
           measured_speed_mbps=0),
        ready("Task_ProvisionNetwork"), _PROVISIONED, _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("activation_fails_at_the_premises", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED,
        do("Task_ActivationTest", activation_ok=False, failure_cause="premises",
           measured_speed_mbps=3),
        ready("Task_InstallOnSite"), _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("customer_says_it_does_not_work", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED, _TEST_PASSED,
        do("Task_ConfirmWorking", service_working=False, satisfaction=2),
        ready("Task_RaiseFault"),
        do("Task_RaiseFault", fault_description="Wi-Fi drops every evening"),
    ), ("EndEvent_HandedToRestoration",)),
    Scenario("provisioning_fails_and_an_engineer_does_it_by_hand", (
        _ORDER, _ELIGIBLE, _BOOKED, ready("Task_ProvisionNetwork"),
        bpmn_error("Task_ProvisionNetwork", "PROVISION_FAILED"), ready("Task_ProvisionByHand"),
        do("Task_ProvisionByHand", network_port="DUN-OLT3-P40", line_profile="p100"),
        ready("Task_InstallOnSite"), _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("customer_chases_the_order", (
        _ORDER, _ELIGIBLE, _BOOKED, wait(days=2), contact(),
        ready("Task_ProvisionNetwork", "Task_UpdateCustomerOrder"),
        do("Task_UpdateCustomerOrder", contact_reason="progress",
           contact_note="Line build tomorrow"),
        _PROVISIONED, _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking", "EndEvent_CustomerUpdated")),
]

SCENARIOS = {
    "install_service": INSTALL,
}

# ---- restore_service -------------------------------------------------------------------------

_FAULT = do("Task_LogFault", service_id="S-20417", fault_type="no_service",
            fault_since="2026-03-02", vulnerable_customer=False,
            callback_phone="+353 1 555 0199")
_REMOTE = do("Task_RemoteDiagnosis", line_test="test_degraded", area_outage=False,
             remote_fix_possible=True, diagnosis="Port stuck in a low-speed profile")
_FIELD = do("Task_RemoteDiagnosis", line_test="test_fail", area_outage=False,
            remote_fix_possible=False, diagnosis="No sync: cable fault suspected")
_FIXED_REMOTELY = do("Task_RemoteFix", remote_action="port_reset")
_DISPATCHED = do("Task_DispatchTechnician", repair_date="2026-03-02", repair_slot="repair_pm",
                 technician_id="T-12")
_REPAIRED = do("Task_RepairOnSite", repair_action="repaired_cabling", parts_used="2 m drop cable")
_BACK = do("Task_VerifyWithCustomer", service_restored=True, customer_comment="All fine again")
_OUTAGE = do("Task_RemoteDiagnosis", line_test="test_fail", area_outage=True,
             remote_fix_possible=False, diagnosis="Cabinet DUN-12 down with the area")
_LINKED = do("Task_LinkOutage", outage_reference="MO-2026-0311", outage_eta_told="Today 18:00")

RESTORE = [
    Scenario("fixed_remotely", (
        ready("Task_LogFault"), _FAULT, ready("Task_RemoteDiagnosis"), _REMOTE,
        ready("Task_RemoteFix"), _FIXED_REMOTELY, ready("Task_VerifyWithCustomer"), _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("the_remote_fix_fails_and_an_engineer_does_it_by_hand", (
        _FAULT, _REMOTE, ready("Task_RemoteFix"),
        bpmn_error("Task_RemoteFix", "REMOTE_FIX_FAILED", remote_fix_note="Port does not answer"),
        ready("Task_RemoteFixByHand"), do("Task_RemoteFixByHand", remote_action="reroute"),
        ready("Task_VerifyWithCustomer"), _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("no_repair_slot_so_a_dispatcher_books_one_by_hand", (
        _FAULT, _FIELD, ready("Task_DispatchTechnician"),
        bpmn_error("Task_DispatchTechnician", "NO_REPAIR_SLOT"), ready("Task_DispatchByHand"),
        do("Task_DispatchByHand", repair_date="2026-03-03", repair_slot="repair_eve",
           technician_id="T-31"), ready("Task_RepairOnSite"), _REPAIRED, _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("repaired_in_the_field", (
        _FAULT, _FIELD, ready("Task_DispatchTechnician"), _DISPATCHED, _REPAIRED, _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("customer_says_it_is_still_broken", (
        _FAULT, _REMOTE, _FIXED_REMOTELY,
        do("Task_VerifyWithCustomer", service_restored=False, customer_comment="Still no internet"),
        ready("Task_RemoteDiagnosis"), _FIELD, _DISPATCHED, _REPAIRED, _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("target_at_risk_supervisor_expedites", (
        _FAULT, _FIELD, _DISPATCHED, wait(hours=19), ready("Task_RepairOnSite"), wait(hours=1),
        ready("Task_ExpediteRestoration", "Task_RepairOnSite"),
        do("Task_ExpediteRestoration", escalation_action="priority_dispatch"), _REPAIRED, _BACK,
    ), ("EndEvent_Expedited", "EndEvent_Restored")),
    Scenario("restored_while_the_escalation_is_open", (
        _FAULT, wait(hours=20), ready("Task_ExpediteRestoration", "Task_RemoteDiagnosis"),
        _REMOTE, _FIXED_REMOTELY, _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("customer_chases_the_technician", (
        _FAULT, _FIELD, _DISPATCHED, contact(),
        ready("Task_RepairOnSite", "Task_UpdateCustomerFault"),
        do("Task_UpdateCustomerFault", repeat_reason="technician_late",
           told_customer="Arrives by 15:00"),
        _REPAIRED, _BACK,
    ), ("EndEvent_CustomerUpdated", "EndEvent_Restored")),
    Scenario("mass_outage_cleared_by_the_broadcast", (
        _FAULT, _OUTAGE, ready("Task_LinkOutage"), _LINKED, ready(), wait(hours=3), ready(),
        signal("mass_outage_cleared"), ready("Task_VerifyWithCustomer"), _BACK,
    ), ("EndEvent_Restored",)),
    Scenario("mass_outage_not_cleared_in_12_hours_gets_a_second_look", (
        _FAULT, _OUTAGE, _LINKED, wait(hours=11, minutes=59), ready(), wait(minutes=1),
        ready("Task_RemoteDiagnosis"), _REMOTE, _FIXED_REMOTELY, _BACK,
    ), ("EndEvent_Restored",)),
]

SCENARIOS["restore_service"] = RESTORE

# ---- billing_inquiry -------------------------------------------------------------------------

_INQUIRY = do("Task_LogInquiry", invoice_number="INV-2026-02-88123", inquiry_type="dispute",
              disputed_amount=240,
              customer_question="Why was I charged for TV when I cancelled it?")
_CORRECT = do("Task_ReviewInvoice", invoice_wrong=False, error_cause="no_error",
              root_cause_in_billing=False)
_TARIFF_WRONG = do("Task_ReviewInvoice", invoice_wrong=True, error_cause="wrong_tariff",
                   root_cause_in_billing=True)
_APPLIED = do("Task_ApplyAdjustment", adjustment_document="CN-55120")
_EXPLAINED = do("Task_ExplainOutcome", explained_via="by_phone", customer_accepts=True)
_ROOT_FIXED = do("Task_FixRootCause", fix_description="TV add-on end date now ends billing",
                 customers_affected=37)

BILLING = [
    Scenario("invoice_was_right", (
        ready("Task_LogInquiry"), _INQUIRY, ready("Task_ReviewInvoice"), _CORRECT,
        ready("Task_ExplainOutcome"), _EXPLAINED,
    ), ("EndEvent_Answered",)),
    Scenario("small_one_off_credit", (
        _INQUIRY, do("Task_ReviewInvoice", invoice_wrong=True, error_cause="keying_error",
                     root_cause_in_billing=False),
        do("Task_DetermineAdjustment", adjustment_type="credit_note", credit_amount=40),
        ready("Task_ApplyAdjustment"), _APPLIED, _EXPLAINED,
    ), ("EndEvent_Answered",)),
    Scenario("large_credit_approved_and_root_cause_fixed", (
        _INQUIRY, _TARIFF_WRONG,
        do("Task_DetermineAdjustment", adjustment_type="rebill", credit_amount=240),
        ready("Task_ApproveCredit"), do("Task_ApproveCredit", credit_approved=True),
        ready("Task_ApplyAdjustment"), _APPLIED, _EXPLAINED, ready("Task_FixRootCause"),
        _ROOT_FIXED,
    ), ("EndEvent_RootCauseFixed",)),
    Scenario("large_credit_sent_back_then_reduced", (
        _INQUIRY, _TARIFF_WRONG,
        do("Task_DetermineAdjustment", adjustment_type="credit_note", credit_amount=480),
        do("Task_ApproveCredit", credit_approved=False, approval_note="Only two months were wrong"),
        ready("Task_DetermineAdjustment"),
        do("Task_DetermineAdjustment", adjustment_type="credit_note", credit_amount=80),
        _APPLIED, _EXPLAINED, _ROOT_FIXED,
    ), ("EndEvent_RootCauseFixed",)),
    Scenario("customer_chases_the_answer", (
        _INQUIRY, wait(days=1), contact(),
        ready("Task_ReviewInvoice", "Task_UpdateCustomerInquiry"),
        do("Task_UpdateCustomerInquiry", repeat_reason="reminder_received",
           told_customer="Dispute flag set, no reminder until resolved"),
        _CORRECT, _EXPLAINED,
    ), ("EndEvent_CustomerUpdated", "EndEvent_Answered")),
]

SCENARIOS["billing_inquiry"] = BILLING

# ---- complaint -------------------------------------------------------------------------------

_COMPLAINT = do("Task_LogComplaint", complaint_about="about_installation",
                complaint_channel="ch_email",
                complaint_summary="Technician did not turn up twice; took two days off work",
                outcome_wanted="Compensation for the lost days")
_ACKNOWLEDGED = do("Task_AcknowledgeComplaint", acknowledged_via="ack_phone", case_owner="R. Byrne")
_JUSTIFIED = do("Task_Investigate", complaint_justified=True, complaint_root_cause="rc_our_error",
                findings="Both visits were dropped by a scheduling rule for the area")
_PUT_RIGHT = do("Task_PutItRight", remedy="remedy_credit", compensation_eur=60)
_SEVEN_DAYS = wait(days=7, minutes=1)
_ASKED = do("Task_AskCustomer", asked_via="ask_email")
_NO_REPLY = wait(days=3, minutes=1)
_SATISFIED = do("Task_FollowUp", follow_up_outcome="fu_satisfied",
                follow_up_note="Happy with the credit")
_CLOSED = do("Task_CloseComplaint", closure_code="closed_resolved",
             lesson="Scheduling rule must not drop confirmed visits")

COMPLAINT = [
    Scenario("justified_put_right_and_closed", (
        ready("Task_LogComplaint"), _COMPLAINT, ready("Task_AcknowledgeComplaint"), _ACKNOWLEDGED,
        ready("Task_Investigate"), _JUSTIFIED, ready("Task_PutItRight"), _PUT_RIGHT,
        ready(), wait(days=6), ready(), wait(days=1, minutes=1), ready("Task_AskCustomer"), _ASKED,
        ready(), wait(days=2, hours=23), ready(), wait(hours=1, minutes=1), ready("Task_FollowUp"),
        _SATISFIED, ready("Task_CloseComplaint"), _CLOSED,
    ), ("EndEvent_Closed",)),
    Scenario("not_justified_explained", (
        _COMPLAINT, _ACKNOWLEDGED,
        do("Task_Investigate", complaint_justified=False,
           complaint_root_cause="rc_misunderstanding",
           findings="Visit was cancelled by the customer's partner"),
        ready("Task_ExplainDecision"),
        do("Task_ExplainDecision", decision_explained_via="decision_phone",
           decision_note="Showed the cancellation record"),
        _SEVEN_DAYS, _ASKED, _NO_REPLY, _SATISFIED,
        do("Task_CloseComplaint", closure_code="closed_not_justified"),
    ), ("EndEvent_Closed",)),
    Scenario("acknowledgement_overdue_supervisor_steps_in", (
        _COMPLAINT, wait(hours=23), ready("Task_AcknowledgeComplaint"), wait(hours=1, minutes=1),
        ready("Task_AcknowledgeOverdue"),
        do("Task_AcknowledgeOverdue", case_owner="M. Walsh", late_because="late_backlog"),
        _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY, _SATISFIED, _CLOSED,
    ), ("EndEvent_Closed",)),
    Scenario("still_unhappy_at_follow_up_reopens", (
        _COMPLAINT, _ACKNOWLEDGED, _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY,
        do("Task_FollowUp", follow_up_outcome="fu_unhappy", follow_up_note="Credit never arrived"),
        ready("Task_Investigate"), _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY,
        _SATISFIED, _CLOSED,
    ), ("EndEvent_Closed",)),
    Scenario("customer_chases_the_investigation", (
        _COMPLAINT, _ACKNOWLEDGED, wait(days=1), contact(),
        ready("Task_Investigate", "Task_UpdateCustomerComplaint"),
        do("Task_UpdateCustomerComplaint", repeat_reason="chasing_outcome",
           told_customer="Answer by Friday"),
        _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY, _SATISFIED, _CLOSED,
    ), ("EndEvent_CustomerUpdated", "EndEvent_Closed")),
    Scenario("customer_unreachable_at_follow_up", (
        _COMPLAINT, _ACKNOWLEDGED, _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, _NO_REPLY,
        do("Task_FollowUp", follow_up_outcome="fu_unreachable"), ready("Task_CloseComplaint"),
        _CLOSED,
    ), ("EndEvent_Closed",)),
    Scenario("customer_replies_that_it_stayed_solved", (
        _COMPLAINT, _ACKNOWLEDGED, _JUSTIFIED, _PUT_RIGHT, _SEVEN_DAYS, _ASKED, wait(days=1),
        message("customer_replied", text="Yes, all sorted, thank you"), ready("Task_RecordReply"),
        do("Task_RecordReply", follow_up_outcome="fu_satisfied",
           follow_up_note="All sorted, thank you"),
        ready("Task_CloseComplaint"), _CLOSED,
    ), ("EndEvent_Closed",)),
]

SCENARIOS["complaint"] = COMPLAINT

# ---- change_service --------------------------------------------------------------------------


def _request(kind: str, reason: str | None = None):
    return do("Task_CaptureRequest", request_type=kind, effective_date="2026-04-01",
              cancellation_reason=reason)


_CANCEL = _request("req_cancellation", "leave_competitor")
_CANCELLED = do("Task_ProcessCancellation", service_end_date="2026-04-01", termination_fee=120,
                fee_waived=False, final_invoice_number="INV-2026-04-99001")
_ADDRESS_SERVED = do("Task_CheckNewAddress", new_address="4 Quay Street, Galway",
                     new_address_served=True)
_MOVE_BOOKED = do("Task_BookMove", move_date="2026-04-01", move_slot="move_am")
_MOVE_PROVISIONED = do("Task_ProvisionNewAddress", new_port="GAL-OLT1-P40",
                       old_port_cease_scheduled=True)
_MOVE_INSTALLED = do("Task_InstallNewAddress", move_technician_id="T-31", move_speed_mbps=480)
_MOVE_CONFIRMED = do("Task_ConfirmMove", move_working=True, move_satisfaction=4)

CHANGE = [
    Scenario("plan_changed_in_one_contact", (
        ready("Task_CaptureRequest"), _request("req_plan_change"), ready("Task_ChangePlan"),
        do("Task_ChangePlan", new_plan="plan_plus", price_confirmed=True),
    ), ("EndEvent_PlanChanged",)),
    Scenario("cancellation_customer_stays", (
        _CANCEL, ready("Task_RetentionOffer"),
        do("Task_RetentionOffer", offer_made="offer_discount", offer_accepted=True),
        ready("Task_ApplyOffer"), do("Task_ApplyOffer", offer_reference="RET-8812"),
    ), ("EndEvent_Retained",)),
    Scenario("cancellation_customer_leaves", (
        _CANCEL, do("Task_RetentionOffer", offer_made="offer_upgrade", offer_accepted=False),
        ready("Task_ProcessCancellation"), _CANCELLED,
    ), ("EndEvent_Cancelled",)),
    Scenario("move_to_a_served_address", (
        _request("req_move"), ready("Task_CheckNewAddress"), _ADDRESS_SERVED,
        ready("Task_BookMove"), _MOVE_BOOKED, ready("Task_ProvisionNewAddress"), _MOVE_PROVISIONED,
        ready("Task_InstallNewAddress"), _MOVE_INSTALLED,
        ready("Task_ConfirmMove"), _MOVE_CONFIRMED,
    ), ("EndEvent_Moved",)),
    Scenario("move_to_an_address_we_cannot_serve", (
        _request("req_move"),
        do("Task_CheckNewAddress", new_address="Inis Meain, Aran Islands",
           new_address_served=False),
        ready("Task_ProcessCancellation"),
        do("Task_ProcessCancellation", service_end_date="2026-04-01", termination_fee=0,
           fee_waived=True,
           final_invoice_number="INV-2026-04-99002"),
    ), ("EndEvent_Cancelled",)),
    Scenario("customer_chases_the_move", (
        _request("req_move"), _ADDRESS_SERVED, _MOVE_BOOKED, _MOVE_PROVISIONED, contact(),
        ready("Task_InstallNewAddress", "Task_UpdateCustomerMove"),
        do("Task_UpdateCustomerMove", repeat_reason="move_progress",
           told_customer="Technician booked for 1 April"),
        _MOVE_INSTALLED, _MOVE_CONFIRMED,
    ), ("EndEvent_CustomerUpdated", "EndEvent_Moved")),
]

SCENARIOS["change_service"] = CHANGE
