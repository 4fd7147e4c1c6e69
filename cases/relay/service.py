"""Record the messages an action threw, in the action's transaction, and wake their delivery
jobs when a case starts to wait for one.

A thrown message is for Caseflow's cases when an active process catches its name (a receive
task, a catch or boundary event, a message start...): it gets a delivery job (cases/relay/
delivery.py). A name no active process catches is for the outside world: the sender's
`message_thrown` event (published through the outbox) is all there is, as a signal nobody
waits for is nothing more than its broadcast.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Iterable, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import store
from engine.errors import EngineError
from engine.messages import SentMessage, caught_messages, start_messages
from engine.store import DefinitionVersion

from .. import events
from ..case_models import Case
from ..jobs import service as jobs
from ..jobs.models import Job

KIND = "message"
# How long a message waits for its receiver before it becomes an incident on the sender (as a
# message's time to live in Zeebe); a case that starts to wait for it wakes it at once.
TIME_TO_LIVE = timedelta(hours=1)
MAX_ATTEMPTS = 3  # after the time to live: tries, with the executor's backoff, before the incident
ENGINE_ACTOR = "engine"


def name_key(name: str) -> str:
    """The part of a message job's key that says which message name it carries."""
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def _key_prefix(name: str) -> str:
    return f"{KIND}:{name_key(name)}:"


class Catcher(NamedTuple):
    """An active version whose process catches a message name."""

    definition_id: int
    process_id: str
    starts: bool  # its start event catches the name: a message start


class ThrownUndone(Exception):
    """What a case threw could not be done (no receiver, several, a start that failed): an
    incident on the sender, at its throwing element."""

    def __init__(self, text: str, element_id: str | None):
        super().__init__(text)
        self.element_id = element_id


def active_compiled(session: Session, read, memo: dict) -> list[tuple[int, str, object]]:
    """(version id, process id, `read(compiled process)`) for every active version, by process
    id; `memo` keeps what `read` found per (process id, content hash): versions are immutable,
    so it never goes stale. A version that no longer compiles is left out."""
    found = []
    for version_id, process_id, digest in session.exec(
            select(DefinitionVersion.id, DefinitionVersion.process_id,
                   DefinitionVersion.content_hash)
            .where(DefinitionVersion.status == "active")
            .order_by(DefinitionVersion.process_id)).all():
        value = memo.get((process_id, digest))
        if value is None:
            try:
                value = memo[(process_id, digest)] = read(store.compiled_by_id(session, version_id))
            except EngineError:
                continue
        found.append((version_id, process_id, value))
    return found


# (process id, content hash) -> (names it catches, names its start events catch)
_NAMES: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {}


def catchers(session: Session, name: str) -> list[Catcher]:
    """Return the active versions whose process catches message `name`, by process id."""
    return [Catcher(version_id, process_id, name in names[1])
            for version_id, process_id, names in active_compiled(
                session, lambda p: (frozenset(caught_messages(p)), frozenset(start_messages(p))),
                _NAMES)
            if name in names[0]]


def _json(value):
    """The value as JSON gives it back (a job's payload is JSON; dates become ISO text)."""
    return json.loads(events.canonical_json(value))


def record_thrown(session: Session, case: Case, sent: list[SentMessage], *,
                  now: datetime) -> None:
    """Log each message the case's action threw (`message_thrown`) and give each one meant for a
    case its delivery job (session.add only). `sent` is what `take_sent` took from the instance
    before its state was saved."""
    for message in sent:
        payload, correlation = _json(message.payload), _json(message.correlation or {})
        for_cases = bool(catchers(session, message.name))
        key = f"{_key_prefix(message.name)}{case.id}:{uuid.uuid4().hex}" if for_cases else None
        events.record(session, case, "message_thrown", actor=ENGINE_ACTOR, at=now,
                      element_id=message.element_id,
                      details={"message": message.name, "payload": payload,
                               "correlation": correlation,
                               "destination": "case" if key else "outside",
                               **({"job_key": key} if key else {})})
        if key is not None:
            jobs.schedule(session, kind=KIND, key=key, due_at=now, now=now, case_id=case.id,
                          max_attempts=MAX_ATTEMPTS,
                          payload={"name": message.name, "payload": payload,
                                   "correlation": correlation, "element_id": message.element_id,
                                   "sender_case_id": case.id, "thrown_at": now.isoformat(),
                                   "expires_at": (now + TIME_TO_LIVE).isoformat()})


def wake(session: Session, names: Iterable[str], *, now: datetime) -> None:
    """Make the messages waiting for a receiver under these names due now (session only): a case
    has just started to wait for one of them."""
    prefixes = sorted({_key_prefix(n) for n in names})
    if not prefixes:
        return
    session.execute(
        sa.update(Job).where(Job.kind == KIND, Job.state == "pending", Job.due_at > now,
                             Job.lease_owner.is_(None),
                             sa.or_(*[Job.key.startswith(p, autoescape=True) for p in prefixes]))
        .values(due_at=now, updated_at=now).execution_options(synchronize_session=False))


def waiting_message_names(subs: Iterable[dict]) -> list[str]:
    """The message names among a case's subscriptions (as subscriptions.sync returns them)."""
    return sorted({s["name"] for s in subs if s["kind"] == "message"})
