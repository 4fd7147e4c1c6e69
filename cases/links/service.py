"""Link cases (related, parent/child, duplicate) and read a case's links from both ends."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from .. import events
from ..case_models import Case
from ..case_service import get_case
from ..customers import Customer
from ..errors import Conflict, InvalidInput
from ..users import User
from .models import CHOSEN_KINDS, LINK_WORDS, CaseLink

MAX_REASON = 1000


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


def links_of(session: Session, case_id: int) -> list[LinkView]:
    """Every link of a case, from both ends, newest first."""
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
                            created_at=link.created_at, outgoing=outgoing))
    return out

