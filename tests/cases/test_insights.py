"""Insights on a constructed history with known answers (SQLite and PostgreSQL).

The history, built with the real services on the shipped install_service process:

case 1 (phone, week 1): happy path; the customer contacts us again while the line is provisioned.
case 2 (phone, week 1, first contact a day before the case): Agree appointment skipped by ann
        (customer_already_confirmed); the activation decision overridden by sam.
case 3 (phone, week 1): Agree appointment skipped by bob; rework: back to Install on site.
case 4 (web, week 2): Install on site takes 10 days (breach); left open at Confirm working, with a
        step added by hand (written confirmation, due in a day: breached two days later).

Capture order takes 20 min, 2 h, 3 h and 10 h in cases 1-4; every other action takes 30 min.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from cases import insights
from cases.case_models import WorkItem
from cases.external_tasks import service as ext
from cases.case_service import complete_step, engine_action, get_case, open_case
from cases.customers import create_customer
from cases.deviation_service import add_task, go_back, override_decision, skip
from cases.insights import Filters
from engine import store
from engine.messages import send_message
from tests.cases.conftest import deploy_shipped, work_external
from tests.cases.test_case_service import EXTERNAL
from tests.conftest import T0

DATA = {
    "Task_CaptureOrder": {"customer_id": "C-1001", "product": "fibre_broadband",
                              "installation_address": "12 Harbour Road", "contact_phone": "+353 1 555",
                              "requested_date": "2026-03-10"},
    "Task_CheckEligibility": {"address_serviceable": True, "credit_result": "passed"},
    "Task_AgreeAppointment": {"appointment_date": "2026-03-06", "appointment_slot": "morning"},
    "Task_ProvisionNetwork": {"network_port": "DUN-OLT3-P12", "line_profile": "p500"},
    "Task_UpdateCustomerOrder": {"contact_reason": "progress"},
    "Task_InstallOnSite": {"technician_id": "T-77", "equipment_serial": "HGW-1"},
    "Task_ActivationTest": {"activation_ok": True, "failure_cause": "no_fault", "measured_speed_mbps": 500},
    "Task_ConfirmWorking": {"service_working": True, "satisfaction": 5},
}
HALF = timedelta(minutes=30)


class History:
    """Drives cases through the services with a clock that only moves forward."""

    def __init__(self, session, people, customer):
        self.s, self.p, self.customer, self.now = session, people, customer, T0
        self.opened = 0

    def item(self, case_id: int, element_id: str) -> WorkItem:
        from sqlmodel import select

        return self.s.exec(select(WorkItem).where(
            WorkItem.case_id == case_id, WorkItem.element_id == element_id,
            WorkItem.state == "open")).one()

    def open(self, at, channel="phone", contacted_at=None) -> int:
        """Open a case for a customer of its own (one customer's cases a week apart would be
        repeat contacts: cases/links/repeat.py)."""
        self.now = at
        customer = self.customer if not self.opened else create_customer(
            self.s, actor="ann", now=at, name=f"{self.customer.name} {self.opened + 1}",
            account_number=f"{self.customer.account_number}-{self.opened + 1}")
        self.opened += 1
        case = open_case(self.s, actor=self.p.ann, now=at, customer_id=customer.id,
                         process_id="install_service", channel=channel, contacted_at=contacted_at)
        return case.id

    def do(self, case_id, element_id, actor=None, after=HALF):
        self.now += after
        if element_id in EXTERNAL:  # the activation system's worker provisions the line
            work_external(self.s, actor=actor or self.p.fran, now=self.now, case_id=case_id,
                          element_id=element_id, variables=DATA[element_id])
            return
        item = self.item(case_id, element_id)
        complete_step(self.s, actor=actor or self.p.ann, now=self.now, case_id=case_id,
                      work_item_id=item.id, data=DATA[element_id],
                      expected_version=get_case(self.s, case_id).row_version)

    def skip(self, case_id, element_id, actor):
        self.now += HALF
        skip(self.s, actor=actor, now=self.now, case_id=case_id,
             expected_version=get_case(self.s, case_id).row_version,
             reason_code="customer_already_confirmed", note="Agreed at order capture",
             work_item_id=self.item(case_id, element_id).id)

    def contact_again(self, case_id):
        with engine_action(self.s, actor=self.p.ann, now=self.now, case_id=case_id,
                           expected_version=get_case(self.s, case_id).row_version) as action:
            assert send_message(action.live, "customer_contacted_again", now=self.now)


def build_history(session, people, customer) -> dict:
    deploy_shipped(session, "install_service")
    h = History(session, people, customer)
    c1 = h.open(T0)
    h.do(c1, "Task_CaptureOrder", after=timedelta(minutes=20))
    h.do(c1, "Task_CheckEligibility")
    h.do(c1, "Task_AgreeAppointment")
    h.contact_again(c1)
    h.do(c1, "Task_UpdateCustomerOrder")
    for step in ("Task_ProvisionNetwork", "Task_InstallOnSite", "Task_ActivationTest",
                 "Task_ConfirmWorking"):
        h.do(c1, step, actor=people.fran if "Confirm" not in step else None)

    c2 = h.open(T0 + timedelta(days=1), contacted_at=T0)
    h.do(c2, "Task_CaptureOrder", after=timedelta(hours=2))
    h.do(c2, "Task_CheckEligibility")
    h.skip(c2, "Task_AgreeAppointment", people.ann)
    h.do(c2, "Task_ProvisionNetwork", actor=people.fran)
    override_decision(session, actor=people.sam, now=h.now, case_id=c2,
                      expected_version=get_case(session, c2).row_version,
                      reason_code="decision_rule_wrong", note="Test threshold is too strict",
                      gateway_id="Gateway_ActivationOk", target_id="Task_ConfirmWorking")
    for step in ("Task_InstallOnSite", "Task_ActivationTest"):
        h.do(c2, step, actor=people.fran)
    h.do(c2, "Task_ConfirmWorking")  # Customer Care's step

    c3 = h.open(T0 + timedelta(days=2))
    h.do(c3, "Task_CaptureOrder", after=timedelta(hours=3))
    h.do(c3, "Task_CheckEligibility")
    h.skip(c3, "Task_AgreeAppointment", people.bob)
    h.do(c3, "Task_ProvisionNetwork", actor=people.fran)
    h.do(c3, "Task_InstallOnSite", actor=people.fran)
    h.now += HALF
    go_back(session, actor=people.fran, now=h.now, case_id=c3,
            expected_version=get_case(session, c3).row_version,
            reason_code="previous_step_done_wrong", note="Router not mounted", element_id=
            "Task_InstallOnSite")
    for step in ("Task_InstallOnSite", "Task_ActivationTest"):
        h.do(c3, step, actor=people.fran)
    h.do(c3, "Task_ConfirmWorking")

    c4 = h.open(T0 + timedelta(days=7), channel="web")
    h.do(c4, "Task_CaptureOrder", after=timedelta(hours=10))
    h.do(c4, "Task_CheckEligibility")
    h.do(c4, "Task_AgreeAppointment")
    h.do(c4, "Task_ProvisionNetwork", actor=people.fran)
    h.do(c4, "Task_InstallOnSite", actor=people.fran, after=timedelta(days=10))
    h.do(c4, "Task_ActivationTest", actor=people.fran)
    add_task(session, actor=people.ann, now=h.now, case_id=c4,
             expected_version=get_case(session, c4).row_version,
             reason_code="customer_asked_for_written_confirmation", note="Wants it in writing",
             title="Send written confirmation", team="Customer Care",
             due_at=h.now + timedelta(days=1))
    version = store.active_version(session, "install_service")
    return {"cases": [c1, c2, c3, c4], "version": version, "now": h.now + timedelta(days=2)}


@pytest.fixture
def history(session, people, customer):
    return build_history(session, people, customer)


def test_exception_report_per_element(session, history):
    report = insights.exception_report(session, history["version"], now=history["now"])
    assert report.cases == 4
    agree = report.element("Task_AgreeAppointment")
    assert (agree.reached, agree.by_kind, agree.deviating_cases) == (4, {"skip": 2}, 2)
    assert agree.rate == 0.5
    assert agree.reasons == [{"code": "customer_already_confirmed",
                              "label": "Customer already confirmed this in an earlier contact",
                              "category": "customer_driven", "count": 2}]
    install = report.element("Task_InstallOnSite")
    assert (install.reached, install.rework, install.rework_rate, install.rate) == (4, 1, 0.25, 0.25)
    assert install.median_seconds == pytest.approx(1800)  # 30 min x4 and 10 days
    assert (install.timed_items, install.breaches, install.items) == (5, 1, 5)
    capture = report.element("Task_CaptureOrder")
    assert capture.median_seconds == pytest.approx(9000)  # (2 h + 3 h) / 2
    assert (capture.breaches, capture.deviations, capture.rate) == (3, 0, 0)
    confirm = report.element("Task_ConfirmWorking")
    assert (confirm.reached, confirm.breaches) == (4, 1)  # case 4 open past its day
    gateway = report.element("Gateway_ActivationOk")
    assert gateway.by_kind == {"override_decision": 1}
    assert (gateway.reached, gateway.reached_is_all_cases, gateway.rate) == (4, True, 0.25)
    assert report.element("Task_UpdateCustomerOrder").reached == 1
    adhoc = report.element(insights.ADHOC)
    assert (adhoc.name, adhoc.reached, adhoc.by_kind, adhoc.breaches) == (
        insights.ADHOC_NAME, 1, {"add_task": 1}, 1)
    assert report.elements[0].element_id == "Task_AgreeAppointment"  # highest rate first
    assert report.elements[-1].element_id == insights.ADHOC  # added steps last


def test_exception_report_filters(session, history, people):
    now = history["now"]
    web = insights.exception_report(session, history["version"], now=now,
                                    filters=Filters(channel="web"))
    assert web.cases == 1
    assert (web.element("Task_AgreeAppointment").reached,
            web.element("Task_AgreeAppointment").deviations) == (1, 0)
    bob = insights.exception_report(session, history["version"], now=now, filters=Filters(agent="bob"))
    assert bob.element("Task_AgreeAppointment").by_kind == {"skip": 1}
    assert bob.element("Task_InstallOnSite").rework == 0
    field = insights.exception_report(session, history["version"], now=now,
                                      filters=Filters(team="Field Operations"))
    assert field.element("Task_CaptureOrder").reached == 0
    assert field.element("Task_AgreeAppointment").deviations == 0
    assert field.element("Task_InstallOnSite").rework == 1
    week1 = insights.exception_report(session, history["version"], now=now, filters=Filters(
        since=T0, until=T0 + timedelta(days=7)))
    assert week1.cases == 3
    assert week1.element("Task_InstallOnSite").breaches == 0


def test_drill_down_lists_the_cases_behind_each_number(session, history):
    c1, c2, c3, c4 = history["cases"]
    ids = [history["version"].id]
    now = history["now"]

    def drill(**kw):
        return sorted(c.id for c in insights.drill_down(session, ids, now=now, **kw))

    assert drill(measure="kind", element_id="Task_AgreeAppointment", value="skip") == [c2, c3]
    assert drill(measure="reason", element_id="Task_AgreeAppointment",
                 value="customer_already_confirmed") == [c2, c3]
    assert drill(measure="rework", element_id="Task_InstallOnSite") == [c3]
    assert drill(measure="breached", element_id="Task_CaptureOrder") == [c2, c3, c4]
    assert drill(measure="reached", element_id="Task_UpdateCustomerOrder") == [c1]
    assert drill(measure="cases", filters=Filters(channel="web")) == [c4]
    assert drill(measure="first_time_right") == [c2]
    assert drill(measure="repeat_contact") == [c1]
    assert drill(measure="promise_missed") == [c4]
    assert drill(measure="category", value="internal_failure") == [c2, c3]
    assert drill(measure="deviated", element_id=insights.ADHOC) == [c4]
    with pytest.raises(ValueError):
        drill(measure="nonsense")


def test_heatmap_colours_by_metric(session, history):
    report = insights.exception_report(session, history["version"], now=history["now"])
    rate = insights.heatmap(report, "rate")
    assert rate["fills"]["Task_AgreeAppointment"] == insights.HEAT_COLOURS[-1]  # the top value
    assert rate["badges"]["Task_AgreeAppointment"] == "2"
    assert "Task_CaptureOrder" not in rate["fills"]
    assert len(rate["legend"]) == len(insights.HEAT_COLOURS)
    rework = insights.heatmap(report, "rework")
    assert set(rework["fills"]) == {"Task_InstallOnSite"}
    time = insights.heatmap(report, "time")
    assert time["fills"]["Task_CaptureOrder"] == insights.HEAT_COLOURS[-1]
    breaches = insights.heatmap(report, "breaches")
    assert breaches["badges"]["Task_CaptureOrder"] == "3"
    with pytest.raises(ValueError):
        insights.heatmap(report, "colour")


def test_scorecard(session, history):
    card = insights.scorecard(session, [history["version"].id], now=history["now"])
    assert (card.cases, card.closed, card.resolved) == (4, 3, 3)
    assert (card.with_promise, card.promise_met, card.promise_rate) == (4, 3, 0.75)
    assert card.first_time_right == 1  # case 1 had a repeat contact, case 3 rework
    assert card.customer_cycle_median == pytest.approx(25200)   # 230 min, 29 h, 7 h
    assert card.internal_cycle_median == pytest.approx(18000)   # 230 min, 5 h, 7 h
    # Customer Care -> Field Operations (-> Customer Care): provisioning is the activation
    # system's work (an external task), not a hand-off to Network Operations
    assert (card.handoffs, card.cases_with_work) == (7, 4)
    assert (card.repeat_contacts, card.cases_with_repeat_contact) == (1, 1)


def test_trends_by_week_and_category(session, history):
    t = insights.trends(session, [history["version"].id])
    assert t.weeks == ["2026-03-02", "2026-03-09"]
    assert t.cases == {"2026-03-02": 3, "2026-03-09": 1}
    assert t.rate == {"2026-03-02": pytest.approx(2 / 3), "2026-03-09": 1}
    assert t.by_category["customer_driven"] == {"2026-03-02": pytest.approx(2 / 3),
                                                "2026-03-09": 1}
    assert t.by_category["internal_failure"] == {"2026-03-02": pytest.approx(2 / 3)}


def test_redesign_candidates(session, history):
    found = insights.redesign_candidates(session, history["version"], now=history["now"])
    by = {(f.pattern, f.element_id): f for f in found}
    skipped = by[("skipped", "Task_AgreeAppointment")]
    assert (skipped.rate, skipped.count, skipped.small_sample) == (0.5, 2, True)
    assert "optional" in skipped.action
    assert sorted(skipped.sample_case_ids) == sorted(history["cases"][1:3])
    rework = by[("rework", "Task_InstallOnSite")]
    assert rework.sample_case_ids == [history["cases"][2]]
    assert ("overridden", "Gateway_ActivationOk") in by
    # Customer Care: 5 of its 16 timed steps breached (3 capture orders, a confirmation and the
    # added step), 5 of the version's 6 breaches; worst at Capture order. Field Operations: 1 of 9.
    breach = by[("breaches_on_team", "Task_CaptureOrder")]
    assert (breach.team, breach.count, breach.reached, breach.rate) == ("Customer Care", 5, 16, 0.3125)
    assert [f.team for f in found if f.pattern == "breaches_on_team"] == ["Customer Care"]
    # ranked by rate (halved for small samples): half the appointments skipped first
    assert [(f.pattern, f.rate) for f in found[:2]] == [("skipped", 0.5),
                                                        ("breaches_on_team", 0.3125)]


def test_compare_versions_matches_elements_by_id(session, history, people):
    v1 = history["version"]
    from cases.definitions import deploy_file
    from cases.simulate import without_step
    from tests.conftest import BPMN_DIR

    data = without_step((BPMN_DIR / "install_service.bpmn").read_bytes(), "Task_AgreeAppointment")
    v2 = deploy_file(session, data, filename="install_service.bpmn", actor="designer",
                     now=history["now"], activate=True).versions[0]
    assert v2.version == 2
    h = History(session, people, _customer(session))
    c5 = h.open(history["now"])
    h.do(c5, "Task_CaptureOrder")
    h.do(c5, "Task_CheckEligibility")
    assert [t.element_id for t in ext.for_case(session, c5)] == ["Task_ProvisionNetwork"]
    _, _, rows = insights.compare_versions(session, v1, v2, now=h.now)
    by = {r.element_id: r for r in rows}
    assert by["Task_AgreeAppointment"].before.rate == 0.5
    assert by["Task_AgreeAppointment"].after is None  # removed in version 2
    assert by["Task_CaptureOrder"].after.reached == 1
    assert by["Task_CaptureOrder"].delta("rate") == 0


def test_a_migrated_case_counts_each_step_under_the_version_it_was_in(session, history, people):
    from cases import version_migration as vm
    from cases.definitions import deploy_file
    from cases.simulate import without_step
    from cases.users import create_user
    from tests.conftest import BPMN_DIR

    v1 = history["version"]
    h = History(session, people, _customer(session))
    c5 = h.open(history["now"])
    h.do(c5, "Task_CaptureOrder")
    data = without_step((BPMN_DIR / "install_service.bpmn").read_bytes(), "Task_AgreeAppointment")
    v2 = deploy_file(session, data, filename="install_service.bpmn", actor="designer",
                     now=h.now, activate=True).versions[0]
    dana = create_user(session, username="dana", password="correct horse", role="designer",
                       now=h.now)
    [moved] = vm.migrate(session, actor=dana, now=h.now, from_id=v1.id, to_id=v2.id,
                         case_ids=[c5])
    assert moved.moved, moved.reason
    h.do(c5, "Task_CheckEligibility")

    before = insights.exception_report(session, v1, now=h.now)
    after = insights.exception_report(session, v2, now=h.now)
    assert (before.cases, after.cases) == (4, 1)  # cases: where they are now
    assert before.element("Task_CaptureOrder").reached == 5  # done in v1 before the move
    assert after.element("Task_CaptureOrder").reached == 0
    assert before.element("Task_CheckEligibility").reached == 4
    assert after.element("Task_CheckEligibility").reached == 1  # opened in v1, moved, done in v2
    assert [t.element_id for t in ext.for_case(session, c5)] == ["Task_ProvisionNetwork"]
    assert insights.drill_down(session, [v1.id], measure="reached",
                               element_id="Task_CaptureOrder", now=h.now)[0].id == c5


def _customer(session):
    from sqlmodel import select

    from cases.customers import Customer

    return session.exec(select(Customer)).first()


def test_sla_escalation_items_are_not_steps(session, history, people):
    from sqlmodel import select

    from cases import sla_sweep

    result = sla_sweep.sweep(session, now=history["now"])
    assert result.escalated >= 1
    escalations = session.exec(select(WorkItem).where(
        WorkItem.kind == sla_sweep.ESCALATION_KIND)).all()
    for item in escalations:
        sla_sweep.resolve_escalation(session, actor=people.sam, now=history["now"],
                                     work_item_id=item.id, note="Called the technician")
    report = insights.exception_report(session, history["version"], now=history["now"])
    confirm = report.element("Task_ConfirmWorking")
    assert (confirm.reached, confirm.items, confirm.breaches) == (4, 4, 1)
    card = insights.scorecard(session, [history["version"].id], now=history["now"])
    assert (card.handoffs, card.first_time_right) == (7, 1)
