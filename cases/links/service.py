"""Link cases (related, parent/child, duplicate), remove a link made by mistake, and read a
case's links from both ends.

Removable: the links people make (related, parent, duplicate), by whoever made it, an agent of a
team that works either case, or a supervisor or admin. Not removable: the links Caseflow makes
itself (`created_by` "system"): a repeat contact found at opening is the scorecard's evidence
against first time right, and the parent link of a case a message opened records where that
case came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from .. import events
from ..case_models import Case
from ..case_service import get_case
from ..customers import Customer
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..search.service import visible
from ..users import User
from .models import CHOSEN_KINDS, LINK_WORDS, CaseLink

MAX_REASON = 1000
WORKER_ROLES = ("agent", "supervisor", "admin")
DECIDER_ROLES = ("supervisor", "admin")
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class LinkView:
    """One link as seen from one case: what the other case is to it, and why."""

    id: int
    kind: str
    words: str              # "Parent of", "Child of", "Repeat contact about", ...
    other_case_id: int
    other_process_id: str
    other_status: str
    other_customer: str
    reason: str
    created_by: str
    created_at: datetime
    outgoing: bool          # this case is the link's `case_id`
    removable: bool = False  # the person asking may remove it (links_of with an actor)


def _between(a: int, b: int) -> sa.ColumnElement[bool]:
    return sa.or_(sa.and_(CaseLink.case_id == a, CaseLink.other_case_id == b),
                  sa.and_(CaseLink.case_id == b, CaseLink.other_case_id == a))


def link_cases(session: Session, *, actor: User, now: datetime, case_id: int, other_case_id: int,
               kind: str, reason: str) -> CaseLink:
    """Link two cases with a reason; both cases' logs record it (`case_linked`). Commit once.

    `kind` says what `case_id` is to the other: related, parent (of), duplicate (of).
    """
    submitted = {"other_case_id": str(other_case_id), "kind": kind, "reason": reason or ""}
    errors: dict[str, str] = {}
    if kind not in CHOSEN_KINDS:
        errors["kind"] = f"Choose one of {', '.join(CHOSEN_KINDS)}"
    text = (reason or "").strip()
    if not text:
        errors["reason"] = "Say why the cases belong together"
    elif len(text) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON} characters"
    case = get_case(session, case_id)
    other = session.get(Case, other_case_id) if other_case_id else None
    if other is None:
        errors["other_case_id"] = f"There is no case {other_case_id}"
    elif other.id == case.id:
        errors["other_case_id"] = "A case cannot be linked to itself"
    elif session.exec(select(CaseLink.id).where(_between(case.id, other.id))).first():
        errors["other_case_id"] = f"Case {other.id} is already linked to this case"
    if errors:
        raise InvalidInput(errors, submitted)
    try:
        link = CaseLink(case_id=case.id, other_case_id=other.id, kind=kind, reason=text,
                        created_by=actor.username, created_at=now)
        session.add(link)
        session.flush()
        for this, that, outgoing in ((case, other, True), (other, case, False)):
            events.record(session, this, "case_linked", actor=actor.username, at=now,
                          details={"link_id": link.id, "kind": kind, "other_case_id": that.id,
                                   "outgoing": outgoing, "reason": text})
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone changed one of these cases at the same moment; link them again",
                       submitted) from None
    except Exception:
        session.rollback()
        raise
    session.refresh(link)
    return link


def check_unlink(session: Session, actor: User, link: CaseLink) -> None:
    """Refuse the actor the removal of this link: Forbidden by role or team, Conflict when
    Caseflow made the link."""
    if actor.role not in WORKER_ROLES:
        raise Forbidden(f"A {actor.role} does not work cases, so cannot remove their links")
    if link.created_by == SYSTEM_ACTOR:
        raise Conflict("Caseflow made this link itself (a repeat contact, or the case a message "
                       "opened); it is part of the cases' history and stays")
    if actor.role in DECIDER_ROLES or link.created_by == actor.username:
        return
    theirs = session.exec(select(Case.id).where(
        Case.id.in_((link.case_id, link.other_case_id)), visible(actor))).first()
    if theirs is None:
        raise Forbidden("Only the person who linked these cases, an agent of a team that works "
                        "one of them, or a supervisor can remove the link")


def _may(session: Session, actor: User, link: CaseLink) -> bool:
    try:
        check_unlink(session, actor, link)
    except (Conflict, Forbidden):
        return False
    return True


def unlink_cases(session: Session, *, actor: User, now: datetime, case_id: int, link_id: int,
                 reason: str) -> CaseLink:
    """Remove a link a person made, saying why; both cases' logs record it (`case_unlinked`),
    with who made the link and why. Commit once."""
    link = session.get(CaseLink, link_id)
    if link is None or case_id not in (link.case_id, link.other_case_id):
        raise NotFound(f"Case {case_id} has no link {link_id}")
    check_unlink(session, actor, link)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": "Say why the link goes (kept on both cases)"},
                           {"reason": reason or ""})
    if len(text) > MAX_REASON:
        raise InvalidInput({"reason": f"Keep the reason under {MAX_REASON} characters"},
                           {"reason": text[:MAX_REASON]})
    facts = {"link_id": link.id, "kind": link.kind, "reason": text,
             "linked_by": link.created_by, "linked_at": link.created_at.isoformat(),
             "link_reason": link.reason}
    try:
        gone = session.execute(sa.delete(CaseLink).where(CaseLink.id == link.id)
                               .execution_options(synchronize_session=False))
        if gone.rowcount != 1:
            raise NotFound(f"Case {case_id} has no link {link_id}")
        session.expunge(link)  # gone from the table: not an object this session still holds
        subject, other = get_case(session, link.case_id), get_case(session, link.other_case_id)
        for this, that, outgoing in ((subject, other, True), (other, subject, False)):
            events.record(session, this, "case_unlinked", actor=actor.username, at=now,
                          details={**facts, "other_case_id": that.id, "outgoing": outgoing})
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone changed one of these cases at the same moment; remove the link "
                       "again", {"reason": text}) from None
    except Exception:
        session.rollback()
        raise
    return link


def links_of(session: Session, case_id: int, *, actor: User | None = None) -> list[LinkView]:
    """Every link of a case, from both ends, newest first; with `actor`, which they may remove."""
    rows = session.exec(
        select(CaseLink, Case, Customer.name)
        .join(Case, sa.or_(sa.and_(CaseLink.case_id == case_id, Case.id == CaseLink.other_case_id),
                           sa.and_(CaseLink.other_case_id == case_id, Case.id == CaseLink.case_id)))
        .join(Customer, Customer.id == Case.customer_id)
        .where(sa.or_(CaseLink.case_id == case_id, CaseLink.other_case_id == case_id))
        .order_by(CaseLink.created_at.desc(), CaseLink.id.desc())).all()
    out = []
    for link, other, customer in rows:
        outgoing = link.case_id == case_id
        out.append(LinkView(id=link.id, kind=link.kind, words=LINK_WORDS[link.kind][0 if outgoing else 1],
                            other_case_id=other.id, other_process_id=other.process_id,
                            other_status=other.status, other_customer=customer,
                            reason=link.reason, created_by=link.created_by,
                            created_at=link.created_at, outgoing=outgoing,
                            removable=actor is not None and _may(session, actor, link)))
    return out

