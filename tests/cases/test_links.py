"""Linked cases, reopening a resolved case, and repeat contacts found at opening, with what the
scorecard makes of them (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import insights
from cases.audit import verify
from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.deviations import Deviation
from cases.errors import Conflict, Forbidden, InvalidInput, NotFound
from cases.events import CaseEvent
from cases.links.models import CaseLink
from cases.links.reopen import reopen_case
from cases.links.repeat import RepeatContactSettings, earlier_case
from cases.links.service import link_cases, links_of, unlink_cases
from cases.users import create_user
from engine.store import WorkflowInstance
from tests.cases.test_case_service import HAPPY_PATH, resolve_install
from tests.conftest import DATA, T0

from .conftest import deploy_shipped


def _open(session, people, customer, at=T0, process_id="install_service") -> Case:
    return open_case(session, actor=people.ann, now=at, customer_id=customer.id,
                     process_id=process_id, channel="phone")


def _resolve(session, people, case: Case, start) -> Case:
    case, _ = resolve_install(session, case, start=start, actor_for=lambda item: people.ann
                              if item is not None and item.team == "Customer Care" else people.fran)
    assert case.status == "resolved"
    return case


def _types(session, case_id) -> list[str]:
    return list(session.exec(select(CaseEvent.type).where(CaseEvent.case_id == case_id)
                             .order_by(CaseEvent.seq)).all())


@pytest.fixture
def others(session):
    """Two more customers."""
    return [create_customer(session, actor="ann", now=T0, name=f"Customer {n}",
                            account_number=f"C-20{n}") for n in (1, 2)]


def test_a_link_reads_from_both_ends_and_is_in_both_logs(session, install, people, customer, others):
    parent = _open(session, people, customer)
    child = _open(session, people, others[0])
    link_cases(session, actor=people.ann, now=T0, case_id=parent.id, other_case_id=child.id,
               kind="parent", reason="  Same street outage  ")
    [seen_from_parent] = links_of(session, parent.id)
    [seen_from_child] = links_of(session, child.id)
    assert (seen_from_parent.words, seen_from_parent.other_case_id, seen_from_parent.reason) == (
        "Parent of", child.id, "Same street outage")
    assert (seen_from_child.words, seen_from_child.other_case_id) == ("Child of", parent.id)
    assert seen_from_child.other_customer == customer.name
    for case, other, outgoing in ((parent, child, True), (child, parent, False)):
        event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.type == "case_linked")).one()
        assert json.loads(event.details)["other_case_id"] == other.id
        assert json.loads(event.details)["outgoing"] is outgoing
        assert verify(session, case.id) == []


@pytest.mark.parametrize("other, kind, reason, field", [
    ("self", "related", "why", "other_case_id"),
    (999, "related", "why", "other_case_id"),
    ("other", "sibling", "why", "kind"),
    ("other", "repeat_contact", "why", "kind"),
    ("other", "duplicate", "   ", "reason"),
    ("other", "duplicate", "x" * 1001, "reason"),
])
def test_a_bad_link_is_refused_naming_the_field_and_stores_nothing(
        session, install, people, customer, others, other, kind, reason, field):
    case = _open(session, people, customer)
    second = _open(session, people, others[0])
    other_id = {"self": case.id, "other": second.id}.get(other, other)
    seq = case.event_seq
    with pytest.raises(InvalidInput) as err:
        link_cases(session, actor=people.ann, now=T0, case_id=case.id, other_case_id=other_id,
                   kind=kind, reason=reason)
    assert field in err.value.errors
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 0
    session.expire_all()
    assert session.get(Case, case.id).event_seq == seq


def test_two_cases_are_linked_once_whichever_end_asks(session, install, people, customer, others):
    a, b = _open(session, people, customer), _open(session, people, others[0])
    link_cases(session, actor=people.ann, now=T0, case_id=a.id, other_case_id=b.id,
               kind="related", reason="Same address")
    with pytest.raises(InvalidInput, match="already linked"):
        link_cases(session, actor=people.ann, now=T0, case_id=b.id, other_case_id=a.id,
                   kind="duplicate", reason="Same thing")


def _events(session, case_id, type) -> list[dict]:
    return [{**json.loads(e.details), "actor": e.actor} for e in session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == type)
        .order_by(CaseEvent.seq)).all()]


def test_a_link_made_by_mistake_is_removed_with_why_on_both_cases(session, install, people,
                                                                  customer, others):
    a, b = _open(session, people, customer), _open(session, people, others[0])
    link = link_cases(session, actor=people.ann, now=T0, case_id=a.id, other_case_id=b.id,
                      kind="duplicate", reason="Rang twice")
    later = T0 + timedelta(minutes=5)
    gone = unlink_cases(session, actor=people.ann, now=later, case_id=b.id, link_id=link.id,
                        reason="  Wrong number typed: meant another customer  ")
    assert gone.id == link.id
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 0
    assert links_of(session, a.id) == [] and links_of(session, b.id) == []
    for case, other, outgoing in ((a, b, True), (b, a, False)):
        [event] = _events(session, case.id, "case_unlinked")
        assert event == {**event, "actor": "ann", "link_id": link.id, "kind": "duplicate",
                         "other_case_id": other.id, "outgoing": outgoing,
                         "reason": "Wrong number typed: meant another customer",
                         "linked_by": "ann", "link_reason": "Rang twice"}
        assert verify(session, case.id) == []
    # the right link can be made now
    link_cases(session, actor=people.ann, now=later, case_id=a.id, other_case_id=b.id,
               kind="related", reason="Same street")


def test_who_may_remove_a_link_and_a_refusal_changes_nothing(session, install, people, customer,
                                                            others):
    a, b = _open(session, people, customer), _open(session, people, others[0])
    link = link_cases(session, actor=people.ann, now=T0, case_id=a.id, other_case_id=b.id,
                      kind="related", reason="Same street")
    designer = create_user(session, username="dee", password="correct horse", role="designer",
                           now=T0)
    seqs = [session.get(Case, c.id).event_seq for c in (a, b)]
    with pytest.raises(Forbidden, match="does not work cases"):
        unlink_cases(session, actor=designer, now=T0, case_id=a.id, link_id=link.id, reason="x")
    with pytest.raises(Forbidden, match="a team that works one of them"):  # not theirs, no step
        unlink_cases(session, actor=people.fran, now=T0, case_id=a.id, link_id=link.id,
                     reason="x")
    with pytest.raises(InvalidInput) as err:
        unlink_cases(session, actor=people.ann, now=T0, case_id=a.id, link_id=link.id,
                     reason="   ")
    assert "reason" in err.value.errors
    with pytest.raises(NotFound):
        unlink_cases(session, actor=people.ann, now=T0, case_id=others[1].id, link_id=link.id,
                     reason="x")
    session.expire_all()
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 1
    assert [session.get(Case, c.id).event_seq for c in (a, b)] == seqs
    assert [v.removable for v in links_of(session, a.id, actor=people.fran)] == [False]
    assert [v.removable for v in links_of(session, a.id, actor=people.bob)] == [True]
    # an agent of the team that works the case may tidy it up; so may a supervisor
    unlink_cases(session, actor=people.bob, now=T0, case_id=a.id, link_id=link.id,
                 reason="Not the same street after all")
    again = link_cases(session, actor=people.fran, now=T0, case_id=a.id, other_case_id=b.id,
                       kind="related", reason="Same street")
    unlink_cases(session, actor=people.sam, now=T0, case_id=b.id, link_id=again.id,
                 reason="Checked: different addresses")
    assert [e["actor"] for e in _events(session, a.id, "case_unlinked")] == ["bob", "sam"]


def test_links_caseflow_made_stay(session, install, people, customer):
    first = _open(session, people, customer)
    again = _open(session, people, customer, at=T0 + timedelta(days=1))
    [link] = session.exec(select(CaseLink)).all()
    assert link.kind == "repeat_contact"
    for actor in (people.ann, people.sam):
        with pytest.raises(Conflict, match="Caseflow made this link"):
            unlink_cases(session, actor=actor, now=T0, case_id=again.id, link_id=link.id,
                         reason="The customer called about something else")
    assert [v.removable for v in links_of(session, first.id, actor=people.sam)] == [False]
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 1


def test_a_new_case_of_a_customer_with_an_open_case_is_a_repeat_contact(session, install, people,
                                                                         customer, others):
    first = _open(session, people, customer)
    again = _open(session, people, customer, at=T0 + timedelta(days=2))
    [link] = session.exec(select(CaseLink)).all()
    assert (link.case_id, link.other_case_id, link.kind, link.created_by) == (
        again.id, first.id, "repeat_contact", "system")
    assert "still open" in link.reason
    assert _types(session, again.id)[:2] == ["case_opened", "repeat_contact_detected"]
    [seen] = links_of(session, first.id)
    assert (seen.words, seen.other_case_id) == ("Customer came back in", again.id)
    # another customer's case, or another process, is no repeat contact
    _open(session, people, others[0])
    deploy_shipped(session, "billing_inquiry")
    _open(session, people, customer, process_id="billing_inquiry")
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 1


def test_a_recently_resolved_case_counts_and_an_older_or_cancelled_one_does_not(
        session, install, people, customer):
    first = _resolve(session, people, _open(session, people, customer), T0)
    week = RepeatContactSettings(repeat_contact_days=7)
    probe = Case(customer_id=customer.id, process_id="install_service")
    assert earlier_case(session, probe, now=first.closed_at + timedelta(days=6, hours=23),
                        settings=week).id == first.id
    assert earlier_case(session, probe, now=first.closed_at + timedelta(days=7, minutes=1),
                        settings=week) is None
    groups = RepeatContactSettings(related_processes=[["install_service", "restore_service"]])
    related = Case(customer_id=customer.id, process_id="restore_service")
    assert earlier_case(session, related, now=first.closed_at, settings=groups).id == first.id
    assert earlier_case(session, related, now=first.closed_at,
                        settings=RepeatContactSettings()) is None
    session.execute(sa.update(Case).where(Case.id == first.id).values(status="cancelled"))
    session.commit()
    assert earlier_case(session, probe, now=first.closed_at, settings=week) is None


def test_reopening_a_resolved_case_goes_back_to_the_step_and_costs_first_time_right(
        session, install, people, customer):
    case = _resolve(session, people, _open(session, people, customer), T0)
    card = insights.scorecard(session, [case.definition_id], now=T0 + timedelta(days=1))
    assert (card.resolved, card.first_time_right) == (1, 1)
    later = case.closed_at + timedelta(days=2)
    case = reopen_case(session, actor=people.ann, now=later, case_id=case.id,
                       expected_version=case.row_version, element_id="Task_ConfirmWorking",
                       reason_code="customer_gave_new_information",
                       note="Customer rang: the line drops every evening")
    assert (case.status, case.closed_at) == ("open", None)
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                 WorkItem.state == "open")).all()
    assert item.element_id == "Task_ConfirmWorking" and item.assignee_id == people.ann.id
    assert session.get(WorkflowInstance, case.instance_id).status != "completed"
    [deviation] = session.exec(select(Deviation).where(Deviation.case_id == case.id)).all()
    assert (deviation.kind, deviation.reason_code) == ("go_back", "customer_gave_new_information")
    assert _types(session, case.id)[-2:] == ["case_reopened", "task_opened"]
    # the engine goes on: doing the step again resolves the case again
    case = complete_step(session, actor=people.ann, now=later + timedelta(hours=1), case_id=case.id,
                         work_item_id=item.id, data=HAPPY_PATH[-1][1],
                         expected_version=case.row_version)
    assert case.status == "resolved"
    card = insights.scorecard(session, [case.definition_id], now=later + timedelta(days=1))
    assert (card.resolved, card.first_time_right) == (1, 0)
    assert verify(session, case.id) == []


def test_only_a_resolved_case_is_reopened_and_a_bad_reopen_changes_nothing(session, install, people,
                                                                          customer):
    case = _open(session, people, customer)
    with pytest.raises(Conflict, match="Only a resolved case"):
        reopen_case(session, actor=people.ann, now=T0, case_id=case.id,
                    expected_version=case.row_version, element_id="Task_CaptureOrder",
                    reason_code="customer_gave_new_information", note="Again")
    case = _resolve(session, people, case, T0)
    for element_id, reason, field in (("Task_Nowhere", "customer_gave_new_information", "element_id"),
                                      ("Task_ConfirmWorking", "no_such_reason", "reason_code")):
        with pytest.raises(InvalidInput) as err:
            reopen_case(session, actor=people.ann, now=T0 + timedelta(days=1), case_id=case.id,
                        expected_version=case.row_version, element_id=element_id,
                        reason_code=reason, note="Again")
        assert field in err.value.errors
    session.expire_all()
    assert session.get(Case, case.id).status == "resolved"
    assert session.exec(select(sa.func.count()).select_from(Deviation)).one() == 0


def test_repeat_contacts_count_in_the_scorecard_against_the_earlier_case(session, install, people,
                                                                        customer, others):
    first = _resolve(session, people, _open(session, people, customer), T0)
    clean = _resolve(session, people, _open(session, people, others[0]), T0)
    _open(session, people, customer, at=first.closed_at + timedelta(days=3))
    card = insights.scorecard(session, [first.definition_id], now=first.closed_at + timedelta(days=4))
    assert (card.repeat_contacts, card.cases_with_repeat_contact) == (1, 1)
    assert (card.resolved, card.first_time_right) == (2, 1)
    ids = session.execute(insights._scorecard_case_ids(session, "first_time_right",
                                                       insights.case_scope([first.definition_id]),
                                                       now=T0)).scalars().all()
    assert ids == [clean.id]


def test_cases_a_timer_opens_are_no_repeat_contacts(session, people, customer):
    path = DATA / "timer_start.bpmn"
    deploy_file(session, path.read_bytes(), filename=path.name, actor="designer", now=T0,
                activate=True)
    for day in (0, 1):
        open_case(session, actor=people.sam, now=T0 + timedelta(days=day), customer_id=customer.id,
                  process_id="meter_check", channel="phone", start_event="Daily")
    assert session.exec(select(sa.func.count()).select_from(CaseLink)).one() == 0
