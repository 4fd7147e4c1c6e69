"""A few demo cases for `caseflow demo`, opened through the real services; running it again adds nothing."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine import store

from .case_models import WorkItem
from .case_service import complete_step, open_case
from .customers import Customer, create_customer
from .users import User

# account, name, phone, process, channel, priority, hours since first contact
DEMO_CASES = [
    ("DEMO-1001", "Ada Byrne", "+353 1 555 0101", "install_service", "phone", 0, 2),
    ("DEMO-1002", "Ben Ode", "+353 1 555 0102", "billing_inquiry", "web", 1, 30),
    ("DEMO-1003", "Cara Doyle", "+353 1 555 0103", "complaint", "email", 2, 50),
    ("DEMO-1004", "Dev Nair", "+353 1 555 0104", "restore_service", "phone", 1, 1),
    ("DEMO-1005", "Eve Walsh", "+353 1 555 0105", "change_service", "store", 0, 5),
]
# The install case has its first step done, so it shows a completed step and a current one.
CAPTURE = {"customer_id": "DEMO-1001", "product": "fibre_broadband",
           "installation_address": "1 Main Street, Dublin", "contact_phone": "+353 1 555 0101"}


def seed_demo_cases(session: Session, *, now: datetime, actor_username: str = "agent",
                    lane_teams: Mapping[str, str] | None = None) -> list[int]:
    """Open the demo cases that are missing (keyed by the customer's account); return new case ids."""
    actor = session.exec(select(User).where(User.username == actor_username)).first()
    if actor is None:
        return []
    opened = []
    for account, name, phone, process_id, channel, priority, hours in DEMO_CASES:
        if session.exec(select(Customer.id).where(Customer.account_number == account)).first():
            continue
        if store.active_version(session, process_id) is None:
            continue
        customer = create_customer(session, actor=actor.username, now=now, name=name,
                                   account_number=account, phone=phone)
        case = open_case(session, actor=actor, now=now, customer_id=customer.id,
                         process_id=process_id, channel=channel, priority=priority,
                         contacted_at=now - timedelta(hours=hours), lane_teams=lane_teams)
        opened.append(case.id)
        if process_id == "install_service":
            item = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                       WorkItem.state == "open")).first()
            if item is not None and item.element_id == "Task_CaptureOrder":
                complete_step(session, actor=actor, now=now, case_id=case.id,
                              work_item_id=item.id, data=CAPTURE,
                              expected_version=case.row_version, lane_teams=lane_teams)
    return opened


__all__ = ["DEMO_CASES", "seed_demo_cases"]
