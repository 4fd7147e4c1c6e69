"""Scenarios for every shipped process: the happy path, each gateway branch, each timer and repeat contact.

Together the scenarios of a process must go along every sequence flow of its file (checked by
test_processes.test_scenarios_cover_every_flow).
"""
from __future__ import annotations

from .harness import Scenario, contact, do, ready, wait

# ---- install_service -------------------------------------------------------------------------

_ORDER = do("Task_CaptureOrder", customer_id="C-1001", product="fibre_broadband",
            installation_address="12 Harbour Road, Dunmore", contact_phone="+353 1 555 0101",
            requested_date="2026-03-10")
_ELIGIBLE = do("Task_CheckEligibility", address_serviceable=True, credit_result="passed")
_BOOKED = do("Task_AgreeAppointment", appointment_date="2026-03-06", appointment_slot="morning",
             access_notes="Side gate, dog friendly")
_PROVISIONED = do("Task_ProvisionNetwork", network_port="DUN-OLT3-P12", line_profile="p500")
_INSTALLED = do("Task_InstallOnSite", technician_id="T-77", equipment_serial="HGW-5531-009")
_TEST_PASSED = do("Task_ActivationTest", activation_ok=True, failure_cause="no_fault", measured_speed_mbps=512)
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
        do("Task_ExplainDecline", decline_reason="not_serviceable", alternative_offered="mobile_broadband"),
    ), ("EndEvent_OrderDeclined",)),
    Scenario("credit_refused", (
        _ORDER, do("Task_CheckEligibility", address_serviceable=True, credit_result="refused"),
        do("Task_ExplainDecline", decline_reason="credit_refused", alternative_offered="prepaid"),
    ), ("EndEvent_OrderDeclined",)),
    Scenario("activation_fails_in_the_network", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED,
        do("Task_ActivationTest", activation_ok=False, failure_cause="network", measured_speed_mbps=0),
        ready("Task_ProvisionNetwork"), _PROVISIONED, _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("activation_fails_at_the_premises", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED,
        do("Task_ActivationTest", activation_ok=False, failure_cause="premises", measured_speed_mbps=3),
        ready("Task_InstallOnSite"), _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking",)),
    Scenario("customer_says_it_does_not_work", (
        _ORDER, _ELIGIBLE, _BOOKED, _PROVISIONED, _INSTALLED, _TEST_PASSED,
        do("Task_ConfirmWorking", service_working=False, satisfaction=2),
        ready("Task_RaiseFault"), do("Task_RaiseFault", fault_description="Wi-Fi drops every evening"),
    ), ("EndEvent_HandedToRestoration",)),
    Scenario("customer_chases_the_order", (
        _ORDER, _ELIGIBLE, _BOOKED, wait(days=2), contact(),
        ready("Task_ProvisionNetwork", "Task_UpdateCustomerOrder"),
        do("Task_UpdateCustomerOrder", contact_reason="progress", contact_note="Line build tomorrow"),
        _PROVISIONED, _INSTALLED, _TEST_PASSED, _WORKS,
    ), ("EndEvent_ServiceWorking", "EndEvent_CustomerUpdated")),
]

SCENARIOS = {
    "install_service": INSTALL,
}
