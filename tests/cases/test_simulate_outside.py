"""The simulated outside world: customers answer a complaint's check-back question, and mass
outages clear by a broadcast signal, through the real services; a case nobody answers takes the
timer branch."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from cases import audit, sla_sweep
from cases.case_models import Case, WorkItem
from cases.events import CaseEvent
from cases.simulate import Patterns, simulate
from tests.conftest import T0

END = T0 + timedelta(days=30)
QUIET = {"repeat_contact_rate": 0, "add_task_rate": 0, "reassign_rate": 0, "extend_rate": 0,
         "hold_rate": 0, "cancel_rate": 0, "rework_rate": 0, "override_rate": 0, "fix_at": None}


def _reached(session, element_id: str) -> int:
    return session.execute(sa.select(sa.func.count()).where(
        WorkItem.element_id == element_id, WorkItem.kind != sla_sweep.ESCALATION_KIND)).scalar_one()


def _events(session, event_type: str) -> int:
    return session.execute(sa.select(sa.func.count()).where(
        CaseEvent.type == event_type)).scalar_one()


def test_customers_reply_and_the_others_get_a_call(session):
    result = simulate(session, cases=4, days=16, seed=4, end=END, patterns=Patterns(
        mix={"complaint": 1.0}, reply_rate=0.5, **QUIET))
    assert result.cases == 4 and not result.errors, result.errors[:3]
    assert result.replies > 0 and _reached(session, "Task_RecordReply") == result.replies
    assert _reached(session, "Task_FollowUp") > 0  # the 3-day timer woke the rest
    assert _events(session, "message_sent") == result.replies
    assert result.stuck == 0
    for case in session.exec(select(Case)).all():
        assert audit.verify(session, case.id) == []


def test_a_cleared_outage_releases_the_waiting_restore_cases(session):
    result = simulate(session, cases=4, days=4, seed=4, end=END, patterns=Patterns(
        mix={"restore_service": 1.0}, true_rates={"area_outage": 1.0, "service_restored": 1.0},
        outage_clear_rate=1.0, **QUIET))
    assert result.cases == 4 and not result.errors, result.errors[:3]
    linked = _reached(session, "Task_LinkOutage")
    assert linked > 0 and result.signals > 0
    assert _events(session, "signal_sent") == linked  # each waiting case got the broadcast once
    assert _reached(session, "Task_VerifyWithCustomer") >= linked
    assert result.stuck == 0


def test_an_outage_nobody_clears_gets_a_second_look_after_12_hours(session):
    result = simulate(session, cases=2, days=2, seed=4, end=END, patterns=Patterns(
        mix={"restore_service": 1.0}, true_rates={"area_outage": 1.0}, outage_clear_rate=0.0,
        **QUIET))
    assert result.cases == 2 and not result.errors, result.errors[:3]
    assert result.signals == 0 and _events(session, "signal_sent") == 0
    linked = _reached(session, "Task_LinkOutage")
    assert linked > 2 and _reached(session, "Task_RemoteDiagnosis") == linked  # looked again


def test_simulated_workers_fix_remotely_and_book_the_crew_or_hand_it_to_a_person(session):
    result = simulate(session, cases=8, days=4, seed=5, end=END, patterns=Patterns(
        mix={"restore_service": 1.0}, external_error_rate=0.4,
        true_rates={"area_outage": 0.0, "remote_fix_possible": 0.5, "service_restored": 1.0},
        **QUIET))
    assert result.cases == 8 and not result.errors, result.errors[:3]
    done, errored = _events(session, "external_task_completed"), _events(
        session, "external_task_bpmn_error")
    assert result.external == done + errored and done > 0 and errored > 0
    by_hand = _reached(session, "Task_RemoteFixByHand"), _reached(session, "Task_DispatchByHand")
    assert sum(by_hand) == errored and all(by_hand)
    assert _reached(session, "Task_RemoteFix") == _reached(session, "Task_DispatchTechnician") == 0
    assert result.stuck == 0
