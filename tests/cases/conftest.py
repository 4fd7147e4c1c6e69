"""Fixtures of the case layer: shipped processes deployed, agents in teams, a customer."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import select

from cases.case_models import Case, WorkItem
from cases.case_service import complete_step
from cases.customers import Customer, create_customer
from cases.definitions import deploy_file
from cases.users import User, create_user
from tests.conftest import BPMN_DIR, T0


def deploy_shipped(session, *names: str) -> None:
    """Deploy shipped processes from bpmn/ as the active versions."""
    for name in names:
        path = BPMN_DIR / f"{name}.bpmn"
        deploy_file(session, path.read_bytes(), filename=path.name, actor="designer", now=T0,
                    activate=True)


def open_steps(session, case_id: int) -> list[str]:
    """The element ids of the case's open work items, sorted."""
    return sorted(w.element_id for w in session.exec(select(WorkItem).where(
        WorkItem.case_id == case_id, WorkItem.state == "open")).all())


def do_step(session, actor: User, case_id: int, element_id: str, data=None, now=T0):
    """Complete the case's open step at `element_id` as `actor` (at the case's current version)."""
    item = session.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                               WorkItem.element_id == element_id,
                                               WorkItem.state == "open")).one()
    case = session.get(Case, case_id, populate_existing=True)
    return complete_step(session, actor=actor, now=now, case_id=case_id, work_item_id=item.id,
                         data=data or {}, expected_version=case.row_version)


@dataclass
class People:
    ann: User   # Customer Care agent
    bob: User   # Customer Care agent
    fran: User  # Field and Network Operations agent
    sam: User   # supervisor


@pytest.fixture
def people(session) -> People:
    def user(name, role, teams):
        return create_user(session, username=name, password="correct horse", role=role, now=T0,
                           teams=teams)

    found = People(user("ann", "agent", ["Customer Care"]), user("bob", "agent", ["Customer Care"]),
                   user("fran", "agent", ["Field Operations", "Network Operations"]),
                   user("sam", "supervisor", ["Customer Care", "Supervisors"]))
    session.commit()
    return found


@pytest.fixture
def customer(session) -> Customer:
    return create_customer(session, actor="ann", now=T0, name="Ada Byrne", account_number="C-1001",
                           email="ada@example.com", phone="+353 1 555 0101")


@pytest.fixture
def install(session) -> None:
    deploy_shipped(session, "install_service")


def work_external(session, *, actor, now, case_id: int, element_id: str, variables: dict,
                  error_code: str | None = None):
    """A worker fetches the case's external task at `element_id` and completes it (or throws
    `error_code`): what the activation system does for install_service's provisioning."""
    from datetime import timedelta

    from cases.external_tasks import service as ext

    [task] = [t for t in ext.for_case(session, case_id)
              if t.element_id == element_id and t.state == "open"]
    [locked] = [t for t in ext.fetch_and_lock(session, actor=actor, now=now, worker_id="test",
                                              topics={task.topic: timedelta(minutes=5)},
                                              max_tasks=50) if t.task.id == task.id]
    if error_code:
        return ext.throw_error(session, actor=actor, now=now, external_task_id=task.id,
                               worker_id="test", error_code=error_code)
    return ext.complete(session, actor=actor, now=now, external_task_id=task.id,
                        worker_id="test", variables=variables)
