"""Which case events notify whom: called by `cases.events.record` for every event it appends,
inside the action's transaction, so a notification exists iff its action committed.

    task_assigned, task_opened (given back to a person), work_item_reassigned (to a person)
                                             -> "assigned" to that person
    work_item_reassigned (to another team)   -> "team_handover" to the team's members
    deviation_requested                      -> "approval_waiting" to every supervisor
    deviation_approved / deviation_rejected  -> "request_decided" to the requester
    sla_at_risk / sla_breached of a step     -> "step_at_risk" / "step_breached" to its holder
    incident_opened                          -> "incident" to whoever holds a step of the case or
                                                took or completed one

Nobody is told of their own action. The key of each notification is the case event
(`event:<case>:<seq>`), unique per recipient. Nothing here flushes: the rows (and the e-mail
jobs) are only `session.add`ed and go to the database with the action's commit.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlmodel import Session, select

from ..case_models import Case, WorkItem
from ..jobs.models import Job
from ..users import User
from .kinds import KINDS
from .models import Notification, NotificationPreference

EMAIL_KIND = "notification_email"
TRIGGERS = frozenset({"task_assigned", "task_opened", "work_item_reassigned",
                      "deviation_requested", "deviation_approved", "deviation_rejected",
                      "sla_at_risk", "sla_breached", "incident_opened"})
WORKERS = ("agent", "supervisor", "admin")
NOT_PEOPLE = ("engine", "system")


def email_job_key(user_id: int, key: str) -> str:
    return f"{EMAIL_KIND}:{user_id}:{key}"


def from_event(session: Session, case: Case, *, type: str, seq: int, actor: str, at: datetime,
               element_id: str | None, details: Mapping[str, Any]) -> None:
    """Add the notifications (and e-mail jobs) a just-recorded case event causes."""
    if type not in TRIGGERS:
        return
    with session.no_autoflush:
        for kind, users, facts in _recipients(session, case, type, details):
            facts = {**facts, "event": type, "element_id": element_id}
            _notify(session, case, kind, users, actor=actor, at=at, facts=facts,
                    key=f"event:{case.id}:{seq}")


def _recipients(session: Session, case: Case, type: str, d: Mapping[str, Any]
                ) -> Iterable[tuple[str, list[User], dict]]:
    item = _item(session, d.get("work_item_id"))
    step = {"step": d.get("name") or (item.name if item else None)}
    if type == "task_assigned":
        yield "assigned", _by_names(session, [d.get("assignee")]), step
    elif type == "task_opened" and d.get("assignee_id"):
        yield "assigned", _by_ids(session, [d["assignee_id"]]), step
    elif type == "work_item_reassigned":
        before = d.get("from") if isinstance(d.get("from"), dict) else {}
        to = d.get("to") if isinstance(d.get("to"), dict) else {}
        person = to.get("assignee_id")
        if person and person != before.get("assignee_id"):
            yield "assigned", _by_ids(session, [person]), step
        if to.get("team") and to.get("team") != before.get("team"):
            members = [u for u in _workers(session) if to["team"] in u.team_list
                       and u.id != person]
            yield "team_handover", members, {**step, "team": to["team"]}
    elif type == "deviation_requested":
        yield "approval_waiting", [u for u in _workers(session) if u.role == "supervisor"], {
            "request_kind": d.get("kind"), "request_id": d.get("request_id"),
            "note": d.get("note")}
    elif type in ("deviation_approved", "deviation_rejected"):
        yield "request_decided", _by_names(session, [d.get("requested_by")]), {
            "request_kind": d.get("kind"), "request_id": d.get("request_id"),
            "decision": "approved" if type == "deviation_approved" else "turned down",
            "note": d.get("note")}
    elif type in ("sla_at_risk", "sla_breached") and item is not None and item.assignee_id:
        kind = "step_at_risk" if type == "sla_at_risk" else "step_breached"
        yield kind, _by_ids(session, [item.assignee_id]), {**step, "due_at": d.get("due_at")}
    elif type == "incident_opened":
        yield "incident", _case_workers(session, case), {
            "incident_id": d.get("incident_id"), "error": str(d.get("error") or "")[:500]}


def _item(session: Session, work_item_id: Any) -> WorkItem | None:
    return session.get(WorkItem, work_item_id) if isinstance(work_item_id, int) else None


def _workers(session: Session) -> list[User]:
    return list(session.exec(select(User).where(User.active.is_(True),
                                                User.role.in_(WORKERS))).all())


def _by_ids(session: Session, ids: Iterable[Any]) -> list[User]:
    wanted = [i for i in ids if isinstance(i, int)]
    return [u for u in (session.get(User, i) for i in wanted) if u is not None]


def _by_names(session: Session, names: Iterable[Any]) -> list[User]:
    wanted = [n for n in names if isinstance(n, str) and n]
    if not wanted:
        return []
    return list(session.exec(select(User).where(User.username.in_(wanted))).all())


def _case_workers(session: Session, case: Case) -> list[User]:
    """People who hold a step of the case now, or took or completed one of its steps."""
    from ..events import CaseEvent

    holders = session.exec(select(WorkItem.assignee_id).where(
        WorkItem.case_id == case.id, WorkItem.state == "open",
        WorkItem.assignee_id.is_not(None))).all()
    actors = session.exec(select(CaseEvent.actor).where(
        CaseEvent.case_id == case.id,
        CaseEvent.type.in_(("task_claimed", "task_completed"))).distinct()).all()
    people = {u.id: u for u in _by_ids(session, set(holders))}
    people.update({u.id: u for u in _by_names(session, set(actors) - set(NOT_PEOPLE))})
    return list(people.values())


def _notify(session: Session, case: Case, kind: str, users: list[User], *, actor: str,
            at: datetime, facts: dict, key: str) -> None:
    names = {u.username: u.display_name for u in _by_names(session, [actor])}
    facts = {**facts, "actor_name": names.get(actor, actor)}
    seen: set[int] = set()
    for user in users:
        if not user.active or user.username == actor or user.id in seen:
            continue
        seen.add(user.id)
        mail = _wants_email(session, user.id, kind)
        session.add(Notification(user_id=user.id, kind=kind, key=key, case_id=case.id,
                                 actor=actor, details=json.dumps(facts, default=str),
                                 created_at=at, email_state="pending" if mail else "none"))
        if mail:
            session.add(Job(kind=EMAIL_KIND, key=email_job_key(user.id, key), due_at=at,
                            payload=json.dumps({"user_id": user.id, "key": key}),
                            max_attempts=5, created_at=at, updated_at=at))


def _wants_email(session: Session, user_id: int, kind: str) -> bool:
    pref = session.get(NotificationPreference, user_id)
    return bool(pref and pref.email and kind in json.loads(pref.email_kinds or "[]")
                and kind in KINDS)
