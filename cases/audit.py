"""Verifying the hash-chained audit log: edited, deleted and inserted events are found."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from sqlmodel import Session, select

from .case_models import Case
from .events import CaseEvent, stored_hash


_COLUMNS = (CaseEvent.case_id, CaseEvent.seq, CaseEvent.type, CaseEvent.actor, CaseEvent.at,
            CaseEvent.element_id, CaseEvent.details, CaseEvent.prev_hash, CaseEvent.hash)


@dataclass(frozen=True)
class Finding:
    """One sign of tampering in a case's event chain."""

    case_id: int
    seq: int
    kind: str  # "edited", "deleted" or "inserted"
    message: str

    def __str__(self) -> str:
        return f"case {self.case_id} event {self.seq}: {self.kind}: {self.message}"


def verify(session: Session, case_id: int | None = None) -> list[Finding]:
    """Check the event chain of one case (or of every case); return what does not add up."""
    query = select(Case.id, Case.event_seq, Case.event_hash).order_by(Case.id)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    findings: list[Finding] = []
    for cid, last_seq, last_hash in session.exec(query).all():
        # Plain rows, not ORM objects: the identity map could hold what this session read
        # before someone changed the table, and verify must see what is stored now.
        events = session.execute(select(*_COLUMNS).where(CaseEvent.case_id == cid)
                                 .order_by(CaseEvent.seq).execution_options(yield_per=500))
        findings.extend(_check_chain(cid, events, last_seq, last_hash))
    return findings


def _check_chain(case_id: int, events, last_seq: int, last_hash: str | None) -> Iterator[Finding]:
    expected, prev_hash, prev_seq = 1, None, 0
    for event in events:
        if event.seq < 1 or event.seq > last_seq:
            yield Finding(case_id, event.seq, "inserted",
                          "not part of the chain the case recorded (beyond its last event)")
            continue
        if event.seq > expected:
            missing = f"{expected}" if event.seq == expected + 1 else f"{expected}-{event.seq - 1}"
            yield Finding(case_id, expected, "deleted", f"event(s) {missing} are missing")
        elif event.prev_hash != prev_hash:
            yield Finding(case_id, prev_seq, "edited",
                          f"event {event.seq} no longer links to it (rewritten)")
        if stored_hash(event) != event.hash:
            yield Finding(case_id, event.seq, "edited", "content does not match its hash")
        expected, prev_hash, prev_seq = event.seq + 1, event.hash, event.seq
    if expected <= last_seq:
        missing = f"{expected}" if expected == last_seq else f"{expected}-{last_seq}"
        yield Finding(case_id, expected, "deleted", f"event(s) {missing} are missing at the end")
    elif last_seq and prev_hash != last_hash:
        yield Finding(case_id, last_seq, "edited", "the last event does not match the case's record")
