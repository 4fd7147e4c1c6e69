"""Repeat contact: a new case of a customer who has an open, or recently resolved, case on a
related process is flagged and linked to it when it opens, in the opening's transaction.

"Related" is the same process, or a process of the same group in CASEFLOW_RELATED_PROCESSES
(JSON list of lists of process ids, e.g. [["restore_service", "install_service"]]). "Recently"
is within CASEFLOW_REPEAT_CONTACT_DAYS (7) of being resolved. A cancelled case does not count.
Only the most recent such case is linked: one repeat contact is one coming back.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session, select

from .. import events
from ..case_models import Case
from .models import CaseLink

SYSTEM_ACTOR = "system"


class RepeatContactSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    repeat_contact_days: float = 7.0
    related_processes: list[list[str]] = []


@lru_cache(maxsize=1)
def configured() -> RepeatContactSettings:
    """Return the repeat-contact settings of this process's environment (read once)."""
    return RepeatContactSettings()


def related_processes(process_id: str, groups: list[list[str]]) -> set[str]:
    """The process itself and every process that shares a group with it."""
    found = {process_id}
    for group in groups:
        if process_id in group:
            found.update(group)
    return found


def earlier_case(session: Session, case: Case, *, now: datetime,
                 settings: RepeatContactSettings | None = None) -> Case | None:
    """Return the customer's most recent open or recently resolved case on a related process."""
    cfg = settings or configured()
    since = now - timedelta(days=cfg.repeat_contact_days)
    return session.exec(
        select(Case).where(
            Case.customer_id == case.customer_id, Case.id != case.id,
            Case.process_id.in_(related_processes(case.process_id, cfg.related_processes)),
            sa.or_(Case.status.in_(("open", "on_hold")),
                   sa.and_(Case.status == "resolved", Case.closed_at >= since)))
        .order_by(Case.opened_at.desc(), Case.id.desc())).first()


def flag_repeat_contact(session: Session, case: Case, *, now: datetime,
                        settings: RepeatContactSettings | None = None) -> CaseLink | None:
    """Link a just-opened case to the case its customer is coming back about (session.add only)."""
    earlier = earlier_case(session, case, now=now, settings=settings)
    if earlier is None:
        return None
    why = ("opened while case {id} was still {status}" if earlier.status != "resolved" else
           "opened within {days:g} days of case {id} being resolved")
    reason = why.format(id=earlier.id, status=earlier.status.replace("_", " "),
                        days=(settings or configured()).repeat_contact_days)
    link = CaseLink(case_id=case.id, other_case_id=earlier.id, kind="repeat_contact",
                    reason=f"Repeat contact: {reason}", created_by=SYSTEM_ACTOR, created_at=now)
    session.add(link)
    session.flush()
    events.record(session, case, "repeat_contact_detected", actor=SYSTEM_ACTOR, at=now,
                  details={"link_id": link.id, "other_case_id": earlier.id,
                           "other_status": earlier.status, "reason": link.reason})
    return link
