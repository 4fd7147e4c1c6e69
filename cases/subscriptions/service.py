"""Keep each case's subscriptions in step with its workflow; broadcast signals; correlate messages.

The rows are rewritten only when what the instance waits for changed: the digest of the last
written set is kept in the instance's envelope, so an ordinary step costs no extra statement.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import sqlalchemy as sa
from sqlmodel import Session, select

from engine.runtime import Instance

from .models import Subscription

_DIGEST = "subscriptions_digest"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def waiting(live: Instance) -> list[dict]:
    """Return what the instance waits for from outside, as plain dicts (kind, name, element, correlation)."""
    if live.is_completed or live.is_cancelled:
        return []
    found = getattr(live, "subscriptions", None)
    if found is not None:
        subs = [{"kind": s.kind, "name": s.name, "element_id": s.element_id,
                 "correlation": dict(s.correlation or {})} for s in found()]
    else:  # an engine without subscriptions(): messages by name only
        subs = [{"kind": "message", "name": n, "element_id": None, "correlation": {}}
                for n in live.waiting_messages()]
    return sorted(subs, key=_canonical)


def changed(live: Instance) -> bool:
    """Whether the waits differ from those last written; remembers the new set in the envelope."""
    digest = hashlib.sha256(_canonical(waiting(live)).encode()).hexdigest()[:32]
    if live.envelope.get(_DIGEST) == digest:
        return False
    live.envelope[_DIGEST] = digest
    return True


def sync(session: Session, case_id: int, live: Instance, *, force: bool = False) -> list[dict]:
    """Rewrite the case's subscription rows from the instance (session.add only); return them."""
    if force:
        changed(live)
    session.execute(sa.delete(Subscription).where(Subscription.case_id == case_id)
                    .execution_options(synchronize_session=False))
    subs = waiting(live)
    for sub in subs:
        session.add(Subscription(case_id=case_id, kind=sub["kind"], name=sub["name"][:255],
                                 element_id=sub["element_id"],
                                 correlation=_canonical(sub["correlation"])))
    return subs


def cases_waiting(session: Session, kind: str, name: str) -> list[tuple[int, dict]]:
    """Return (case id, expected correlation) of every open subscription to `name`."""
    rows = session.exec(select(Subscription.case_id, Subscription.correlation).where(
        Subscription.kind == kind, Subscription.name == name).order_by(Subscription.case_id)).all()
    return [(case_id, json.loads(correlation)) for case_id, correlation in rows]


def matches(expected: Mapping[str, Any], given: Mapping[str, Any]) -> bool:
    """Whether the correlation values a message brings satisfy what a waiting catch expects."""
    return all(key in given and _canonical(given[key]) == _canonical(value)
               for key, value in expected.items())
