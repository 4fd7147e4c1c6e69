"""Saved worklist filters: a person keeps a worklist query under a name, applies and deletes it.

Each person sees, runs and deletes only their own filters; someone else's is not found.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlmodel import Session, select

from ..case_models import CHANNELS
from ..errors import Conflict, InvalidInput, NotFound
from ..users import User
from .models import MAX_FILTER_NAME, MAX_FILTER_QUERY, SavedFilter

KEYS = ("view", "process", "priority", "channel", "q")  # what a worklist query may hold
MAX_PER_USER = 50


def clean_query(query: str) -> str:
    """The worklist query string with only the worklist's own parameters, in one spelling."""
    pairs = parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
    unknown = sorted({k for k, _ in pairs if k not in KEYS and k != "page"})
    if unknown:
        raise InvalidInput({"query": f"A worklist filter holds only {', '.join(KEYS)}; "
                                     f"not {', '.join(unknown)}"})
    kept = {k: v for k, v in pairs if k in KEYS and v.strip()}
    text = urlencode([(k, kept[k]) for k in KEYS if k in kept])
    if len(text) > MAX_FILTER_QUERY:
        raise InvalidInput({"query": f"Keep the filter under {MAX_FILTER_QUERY} characters"})
    return text


def save_filter(session: Session, *, actor: User, now: datetime, name: str,
                query: str) -> SavedFilter:
    """Keep a worklist query under a name (saving a name again replaces its query). Commit once."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": "Give the filter a name"}, {"name": name})
    if len(name) > MAX_FILTER_NAME:
        raise InvalidInput({"name": f"Keep the name under {MAX_FILTER_NAME} characters"})
    text = clean_query(query)
    row = session.exec(select(SavedFilter).where(SavedFilter.user_id == actor.id,
                                                 SavedFilter.name == name)).first()
    if row is None:
        count = session.exec(select(sa.func.count()).select_from(SavedFilter)
                             .where(SavedFilter.user_id == actor.id)).one()
        if count >= MAX_PER_USER:
            raise InvalidInput({"name": f"You have {MAX_PER_USER} saved filters; delete one first"})
        row = SavedFilter(user_id=actor.id, name=name, query=text, created_at=now)
    row.query = text
    session.add(row)
    try:
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict(f"A filter named “{name}” was saved at the same moment; try again") from None
    return row


def list_filters(session: Session, *, actor: User) -> list[SavedFilter]:
    """The person's saved filters by name."""
    return list(session.exec(select(SavedFilter).where(SavedFilter.user_id == actor.id)
                             .order_by(SavedFilter.name, SavedFilter.id)).all())


def page_filters(session: Session, *, actor: User, limit: int, offset: int
                 ) -> tuple[list[SavedFilter], int]:
    """One page of the person's saved filters by name, and how many they have."""
    mine = SavedFilter.user_id == actor.id
    total = session.exec(select(sa.func.count()).select_from(SavedFilter).where(mine)).one()
    rows = session.exec(select(SavedFilter).where(mine).order_by(SavedFilter.name, SavedFilter.id)
                        .limit(limit).offset(offset)).all()
    return list(rows), int(total)


def get_filter(session: Session, *, actor: User, filter_id: int) -> SavedFilter:
    """One of the person's saved filters (someone else's is not found)."""
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(f"You have no saved filter {filter_id}")
    return row


def worklist_args(row: SavedFilter) -> dict[str, Any]:
    """The worklist's arguments a saved query stands for (view, process_id, priority, channel,
    q); InvalidInput naming the part of the query that no longer makes sense."""
    from ..worklist import VIEWS

    given = dict(parse_qsl(row.query or ""))
    view = given.get("view") or "mine"
    if view not in VIEWS:
        raise InvalidInput({"query": f"The filter's view '{view}' is not one of "
                                     f"{', '.join(VIEWS)}"})
    priority = given.get("priority")
    if priority is not None:
        try:
            priority = int(priority)
        except ValueError:
            raise InvalidInput({"query": f"The filter's priority '{priority}' is not a "
                                         "number"}) from None
    channel = given.get("channel")
    if channel and channel not in CHANNELS:
        raise InvalidInput({"query": f"The filter's channel '{channel}' is not one of "
                                     f"{', '.join(CHANNELS)}"})
    return {"view": view, "process_id": given.get("process"), "priority": priority,
            "channel": channel, "q": (given.get("q") or "").strip() or None}


def delete_filter(session: Session, *, actor: User, filter_id: int) -> None:
    """Delete one of the person's saved filters (someone else's is not found). Commit once."""
    row = get_filter(session, actor=actor, filter_id=filter_id)
    session.delete(row)
    session.commit()
