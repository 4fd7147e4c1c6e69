"""Verifying the keyed audit chain: edited, deleted, inserted and unkeyed events are found.

An event verifies when its hash is the HMAC of its content under the audit key ("keyed"). A plain
SHA-256 hash ("unkeyed") is what chains written before the key carry, and also what someone who
rewrites events without the key can produce, so:
- unkeyed events followed by a keyed one are fine: the keyed event's HMAC covers the hash of the
  last unkeyed one, which covers everything before it;
- an unkeyed event after a keyed one is a rewrite;
- a chain that ends unkeyed is reported as "unkeyed" (exit 1 in the CLI): nothing protects it.
  `rekey` re-chains such cases once under the key, after checking them; run it right after
  upgrading, because from then on an unkeyed chain means someone rewrote it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlmodel import Session, select

from .audit_key import configured_audit_key
from .case_models import Case
from .events import CaseEvent, stored_hash

_COLUMNS = (CaseEvent.id, CaseEvent.case_id, CaseEvent.seq, CaseEvent.type, CaseEvent.actor,
            CaseEvent.at, CaseEvent.element_id, CaseEvent.details, CaseEvent.prev_hash,
            CaseEvent.hash)
REKEY_BATCH = 100  # cases per transaction


@dataclass(frozen=True)
class Finding:
    """One sign of tampering (or of a chain not yet keyed) in a case's event chain."""

    case_id: int
    seq: int
    kind: str  # "edited", "deleted", "inserted" or "unkeyed"
    message: str
    type: str | None = None  # of the event, when it exists
    at: datetime | None = None

    def __str__(self) -> str:
        event = f"event {self.seq}"
        if self.type:
            event += f" ({self.type} at {self.at.isoformat() if self.at else '?'})"
        return f"case {self.case_id} {event}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class AuditReport:
    """What a verification read, and what did not add up."""

    cases: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)


def check(session: Session, case_id: int | None = None, *, key: bytes | None = None
          ) -> AuditReport:
    """Check the event chain of one case (or of every case) under the audit key."""
    key = configured_audit_key() if key is None else key
    cases = events = 0
    findings: list[Finding] = []
    for cid, last_seq, last_hash in _cases(session, case_id):
        rows = list(_events(session, cid))
        cases, events = cases + 1, events + len(rows)
        findings.extend(_check_chain(cid, rows, last_seq, last_hash, key))
    return AuditReport(cases, events, findings)


def verify(session: Session, case_id: int | None = None, *, key: bytes | None = None
           ) -> list[Finding]:
    """Return what does not add up in the event chain of one case (or of every case)."""
    return check(session, case_id, key=key).findings


def _cases(session: Session, case_id: int | None):
    query = select(Case.id, Case.event_seq, Case.event_hash).order_by(Case.id)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    return session.exec(query).all()


def _events(session: Session, case_id: int) -> Iterable:
    # Plain rows, not ORM objects: the identity map could hold what this session read before
    # someone changed the table, and verify must see what is stored now.
    return session.execute(select(*_COLUMNS).where(CaseEvent.case_id == case_id)
                           .order_by(CaseEvent.seq).execution_options(yield_per=500))


def _scheme(event, key: bytes) -> str | None:
    """Return "keyed" or "unkeyed" by the hash the event carries, None when neither matches."""
    if stored_hash(event, key, event.prev_hash) == event.hash:
        return "keyed"
    if stored_hash(event, None, event.prev_hash) == event.hash:
        return "unkeyed"
    return None


def _found(case_id: int, event, kind: str, message: str) -> Finding:
    return Finding(case_id, event.seq, kind, message, event.type, event.at)


def _check_chain(case_id: int, events, last_seq: int, last_hash: str | None,
                 key: bytes) -> Iterator[Finding]:
    expected, prev, plain = 1, None, _PlainRuns(case_id)
    for event in events:
        if event.seq < 1 or event.seq > last_seq:
            yield _found(case_id, event, "inserted",
                         "not part of the chain the case recorded (beyond its last event)")
            continue
        if event.seq > expected:
            missing = f"{expected}" if event.seq == expected + 1 else f"{expected}-{event.seq - 1}"
            yield Finding(case_id, expected, "deleted", f"event(s) {missing} are missing")
        elif event.prev_hash != (prev.hash if prev else None):
            yield _found(case_id, prev, "edited",
                         f"event {event.seq} no longer links to it (rewritten)")
        scheme = _scheme(event, key)
        if scheme is None:
            yield _found(case_id, event, "edited", "its content does not match its hash")
        else:
            yield from plain.add(event, scheme)
        expected, prev = event.seq + 1, event
    if expected <= last_seq:
        missing = f"{expected}" if expected == last_seq else f"{expected}-{last_seq}"
        yield Finding(case_id, expected, "deleted", f"event(s) {missing} are missing at the end")
    elif last_seq and prev is not None and prev.hash != last_hash:
        yield _found(case_id, prev, "edited", "the last event does not match the case's record")
    yield from plain.close()


class _PlainRuns:
    """Runs of events with plain SHA-256 hashes: anchored, rewritten, or not yet keyed."""

    def __init__(self, case_id: int):
        self.case_id, self.keyed_seen, self.first, self.last = case_id, False, None, None

    def add(self, event, scheme: str) -> Iterator[Finding]:
        if scheme == "unkeyed":
            self.first, self.last = self.first or event, event
            return
        if self.first is not None and self.keyed_seen:
            yield self._rewritten()
        # A keyed event's HMAC covers the hash before it, so it anchors a plain run before it.
        self.keyed_seen, self.first, self.last = True, None, None

    def close(self) -> Iterator[Finding]:
        if self.first is None:
            return
        if self.keyed_seen:
            yield self._rewritten()
        else:
            yield _found(self.case_id, self.first, "unkeyed",
                         f"{self._span()} carry plain SHA-256 hashes, which anyone with database "
                         "access can recompute: written before the audit key was set (run "
                         "`caseflow audit rekey` once), or rewritten without the key")

    def _rewritten(self) -> Finding:
        return _found(self.case_id, self.first, "edited",
                      f"{self._span()} carry plain SHA-256 hashes after keyed events: rewritten "
                      "by someone without the audit key")

    def _span(self) -> str:
        if self.last.seq > self.first.seq:
            return f"events {self.first.seq}-{self.last.seq}"
        return f"event {self.first.seq}"


# ---- rekey ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RekeyReport:
    """Cases re-chained under the key, their events, and the cases refused (with why)."""

    cases: int = 0
    events: int = 0
    refused: list[Finding] = field(default_factory=list)


def rekey(session: Session, case_id: int | None = None, *, key: bytes | None = None
          ) -> RekeyReport:
    """Re-chain every unkeyed but otherwise intact case under the audit key; commit per batch.

    A case whose chain shows any other finding is left as it is and reported: rekeying must
    never bless a chain that was edited.
    """
    key = configured_audit_key() if key is None else key
    ids = [cid for cid, _, _ in _cases(session, case_id)]
    cases = events = 0
    refused: list[Finding] = []
    for start in range(0, len(ids), REKEY_BATCH):
        for cid in ids[start:start + REKEY_BATCH]:
            done = _rekey_case(session, cid, key)
            if isinstance(done, list):
                refused.extend(done)
            elif done:
                cases, events = cases + 1, events + done
        session.commit()
    return RekeyReport(cases, events, refused)


def _rekey_case(session: Session, case_id: int, key: bytes) -> int | list[Finding]:
    """Re-chain one case under the key; return its event count, 0 if keyed, or why not."""
    # Take the case row first (a no-op update): services lock it the same way before they
    # append, so nobody chains an event onto a hash this is about to replace.
    session.execute(sa.update(Case).where(Case.id == case_id)
                    .values(event_seq=Case.event_seq).execution_options(synchronize_session=False))
    [(_, last_seq, last_hash)] = _cases(session, case_id)
    rows = list(_events(session, case_id))
    findings = list(_check_chain(case_id, rows, last_seq, last_hash, key))
    if any(f.kind != "unkeyed" for f in findings):
        return findings
    if not findings:
        return 0
    prev_hash = None
    for row in rows:
        digest = stored_hash(row, key, prev_hash)
        session.execute(sa.update(CaseEvent).where(CaseEvent.id == row.id)
                        .values(prev_hash=prev_hash, hash=digest)
                        .execution_options(synchronize_session=False))
        prev_hash = digest
    session.execute(sa.update(Case).where(Case.id == case_id).values(event_hash=prev_hash)
                    .execution_options(synchronize_session=False))
    return len(rows)


__all__ = ["AuditReport", "Finding", "RekeyReport", "check", "rekey", "verify"]
