"""The case audit log: typed, append-only events, hash-chained per case.

Event helpers only `session.add`; the service that records them commits. Types are subject +
past-tense verb (`case_opened`, `task_completed`, `timer_fired`, ...); the UI renders text from
type and details, so details hold facts, never prose.

Each event's hash is an HMAC-SHA256 (64 hex characters) under the audit key, which the database
does not hold (cases/audit_key.py): someone who can write to the database cannot rewrite an
event and recompute the chain. Chains written before the key existed carry plain SHA-256 hashes
of the same payload; cases/audit.py tells the two apart and `caseflow audit rekey` re-chains them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, Session, SQLModel

from engine.runtime import EngineEvent
from engine.store import utc_column

from .audit_key import configured_audit_key
from .case_models import Case
from .correlation import current_request_id
from .notifications.derive import from_event as notify_from_event
from .outbox.models import PUBLISHED, OutboxEvent, new_event_id

# Engine event type -> case event type (same name where it already reads as subject + verb).
ENGINE_EVENT_TYPES = {
    "message_delivered": "message_received",
    "step_skipped": "task_skipped",
}


class CaseEvent(SQLModel, table=True):
    """One audit record; `hash` covers the previous hash and every field, so edits show."""

    __tablename__ = "case_event"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_record.id")  # indexed by uq_case_event_seq
    seq: int
    type: str = Field(max_length=64, index=True)
    actor: str = Field(max_length=64)
    at: datetime = utc_column()
    element_id: str | None = Field(default=None, max_length=255)
    details: str = Field(default="{}", sa_type=sa.Text)
    prev_hash: str | None = Field(default=None, max_length=64)
    # Unique per event and known before the INSERT, so SQLite too takes a flush's events in one
    # INSERT ... RETURNING and matches the ids back by it (SQLAlchemy's insert sentinel).
    hash: str = Field(max_length=64, sa_column_kwargs={"insert_sentinel": True})


def canonical_json(value: Any) -> str:
    """Return the one JSON spelling of a value (sorted keys, no spaces) that hashes are built on."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(*, key: bytes | None, prev_hash: str | None, case_id: int, seq: int, type: str,
               actor: str, at: datetime, element_id: str | None,
               details: Mapping[str, Any]) -> str:
    """Return the HMAC-SHA256 hex digest of an event chained to its predecessor.

    `key=None` gives the plain SHA-256 of chains written before the audit key (verify only).
    """
    payload = canonical_json([prev_hash, case_id, seq, type, actor, _iso(at), element_id,
                              json.loads(canonical_json(details))]).encode("utf-8")
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def stored_hash(event: CaseEvent, key: bytes | None, prev_hash: str | None) -> str:
    """Recompute the hash of a stored event from its columns, chained to `prev_hash`."""
    return event_hash(key=key, prev_hash=prev_hash, case_id=event.case_id, seq=event.seq,
                      type=event.type, actor=event.actor, at=event.at,
                      element_id=event.element_id, details=json.loads(event.details))


def record(session: Session, case: Case, type: str, *, actor: str, at: datetime,
           element_id: str | None = None, details: Mapping[str, Any] | None = None) -> CaseEvent:
    """Append an event to the case's chain, and to the outbox if published (session.add only).

    An event written while serving an HTTP request carries its id (`request_id` in details,
    covered by the hash like every other detail), so the request's log line leads to it.
    """
    details = dict(details or {})
    request_id = current_request_id()
    if request_id and "request_id" not in details:
        details["request_id"] = request_id
    details = json.loads(canonical_json(details))
    seq = case.event_seq + 1
    digest = event_hash(key=configured_audit_key(), prev_hash=case.event_hash, case_id=case.id,
                        seq=seq, type=type, actor=actor, at=at, element_id=element_id,
                        details=details)
    event = CaseEvent(case_id=case.id, seq=seq, type=type, actor=actor, at=at,
                      element_id=element_id, details=canonical_json(details),
                      prev_hash=case.event_hash, hash=digest)
    case.event_seq, case.event_hash = seq, digest
    session.add(case)  # dirty now: the next flush runs, and writes the event after the case
    events, outbox = session.info.setdefault(UNWRITTEN, ([], []))
    events.append(event)
    if type in PUBLISHED:
        # Same transaction as the action: announced iff it committed (cases/outbox).
        outbox.append({"event_id": new_event_id(), "case_id": case.id,
                       "process_id": case.process_id, "type": type, "at": at,
                       "data": canonical_json({"seq": seq, "element_id": element_id,
                                               "actor": actor, "details": details})})
    # Same transaction too: whoever the event concerns is told iff it committed.
    notify_from_event(session, case, type=type, seq=seq, actor=actor, at=at,
                      element_id=element_id, details=details)
    return event


def unwritten(session: Session) -> list[CaseEvent]:
    """The events recorded in this session that its next flush writes."""
    return session.info.get(UNWRITTEN, ([], []))[0]


# Events and outbox rows are not ORM objects in the session: the unit of work's INSERT of a
# flush's new objects (identity map, RETURNING the ids, matching them back) cost more than the
# rest of a step's statements together. `record` keeps them in session.info; after the ORM has
# flushed (the case row exists, with its new chain head), one executemany per table writes them
# in the same transaction. A recorded event's `id` stays None (nothing reads it: events are
# addressed by case and seq). Whatever must know which events a transaction wrote (the search
# index, the metrics) registers in WRITTEN_HOOKS, called with the session and the events.
UNWRITTEN = "caseflow_events_unwritten"
WRITTEN_HOOKS: list[Callable[[Session, list[CaseEvent]], None]] = []
_EVENT_COLUMNS = ("case_id", "seq", "type", "actor", "at", "element_id", "details", "prev_hash",
                  "hash")


@sa.event.listens_for(OrmSession, "after_flush")
def _write_unwritten(session: Session, _context) -> None:
    pending = session.info.pop(UNWRITTEN, None)
    if not pending or not (pending[0] or pending[1]):
        return
    events, outbox = pending
    connection = session.connection()
    if events:
        connection.execute(CaseEvent.__table__.insert(),
                           [{c: getattr(e, c) for c in _EVENT_COLUMNS} for e in events])
    if outbox:
        connection.execute(OutboxEvent.__table__.insert(), outbox)
    for hook in WRITTEN_HOOKS:
        hook(session, events)


@sa.event.listens_for(OrmSession, "after_transaction_end")
def _forget_unwritten(session: Session, transaction) -> None:
    """A transaction that ended without writing them (rolled back, or the session closed)
    forgets them: they must not turn up in the session's next transaction."""
    if transaction.parent is None:
        session.info.pop(UNWRITTEN, None)


def record_engine_events(session: Session, case: Case, events: Iterable[EngineEvent], *,
                         actor: str, at: datetime) -> None:
    """Append what the engine did on its own (timers, messages, scripts, ends) to the chain."""
    for event in events:
        details = dict(event.detail)
        if event.name:
            details["name"] = event.name
        record(session, case, ENGINE_EVENT_TYPES.get(event.type, event.type), actor=actor, at=at,
               element_id=event.element_id, details=details)
