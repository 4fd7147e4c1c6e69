"""Add, list, fetch and delete the attachments of a case; one transaction per action, the row
and its audit event together.

Who may: anyone who works cases (agents of any team, supervisors, admins) adds, lists and
downloads, as they may open the case page; the uploader or a supervisor (or admin) deletes, with
a reason. A file is moved into place only once its row and event are flushed, and removed again
when the commit fails, so no row ever names a file that is not there and no failed upload leaves
a file behind (a crash between the move and the commit can leave an unnamed file, never a
dangling row).
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlmodel import Session, select

from .. import events
from ..case_service import get_case
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..users import User
from .models import MAX_DESCRIPTION, MAX_FILENAME, MAX_REASON, CaseAttachment
from .storage import AttachmentStore

WORKER_ROLES = ("agent", "supervisor", "admin")
DECIDER_ROLES = ("supervisor", "admin")


def _require_worker(actor: User) -> None:
    if actor.role not in WORKER_ROLES:
        raise Forbidden(f"A {actor.role} does not work cases, so cannot handle their attachments")


def clean_filename(name: str | None) -> str:
    """The name to show: the last part of what the browser sent, without control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not base:
        return "attachment"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        ext = ext[:16] if dot else ""
        base = (stem if dot else base)[:MAX_FILENAME - len(ext) - 1] + (f".{ext}" if ext else "")
    return base


def add(session: Session, *, actor: User, now: datetime, case_id: int, source: BinaryIO,
        filename: str | None, description: str = "", store: AttachmentStore) -> CaseAttachment:
    """Stream a file into the store and attach it to the case with an audit event. Commit once."""
    _require_worker(actor)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput({"description": f"Keep the description under {MAX_DESCRIPTION} "
                                           "characters"}, {"description": description})
    get_case(session, case_id)
    session.rollback()  # hold no transaction open while the file streams in
    received = store.receive(source)
    placed: Path | None = None
    try:
        case = get_case(session, case_id)
        row = CaseAttachment(case_id=case.id, storage_key=received.key,
                             filename=clean_filename(filename),
                             content_type=received.kind.content_type, size=received.size,
                             sha256=received.sha256, description=description,
                             uploaded_by=actor.username, uploaded_at=now)
        session.add(row)
        session.flush()
        events.record(session, case, "attachment_added", actor=actor.username, at=now,
                      details={"attachment_id": row.id, "filename": row.filename,
                               "content_type": row.content_type, "size": row.size,
                               "sha256": row.sha256, "description": description})
        session.flush()
        placed = store.place(received)
        session.commit()
    except sa.exc.IntegrityError:
        _undo(session, store, received, placed)
        raise Conflict("Someone else changed this case at the same moment; attach the file "
                       "again", {"description": description}) from None
    except BaseException:
        _undo(session, store, received, placed)
        raise
    return row


def _undo(session: Session, store: AttachmentStore, received, placed: Path | None) -> None:
    session.rollback()
    if placed is not None:
        store.remove(received.key)
    store.discard(received)


def list_for_case(session: Session, case_id: int, *, include_deleted: bool = False
                  ) -> list[CaseAttachment]:
    """The case's attachments, oldest first (deleted ones only when asked)."""
    query = select(CaseAttachment).where(CaseAttachment.case_id == case_id)
    if not include_deleted:
        query = query.where(CaseAttachment.deleted_at.is_(None))
    return list(session.exec(query.order_by(CaseAttachment.id)).all())


def get(session: Session, *, case_id: int, attachment_id: int) -> CaseAttachment:
    """One live attachment of the case, or NotFound (a deleted one has no bytes to give)."""
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case_id or row.deleted_at is not None:
        raise NotFound(f"No attachment {attachment_id} on case {case_id}")
    return row


def may_delete(actor: User, row: CaseAttachment) -> bool:
    """Whether the actor may delete this attachment: its uploader, or a supervisor or admin."""
    return actor.role in DECIDER_ROLES or (actor.role in WORKER_ROLES
                                           and actor.username == row.uploaded_by)


def delete(session: Session, *, actor: User, now: datetime, case_id: int, attachment_id: int,
           reason: str, store: AttachmentStore) -> CaseAttachment:
    """Remove an attachment's bytes, keeping its row and logging who, when and why. Commit once."""
    _require_worker(actor)
    reason = (reason or "").strip()
    row = get(session, case_id=case_id, attachment_id=attachment_id)
    if not may_delete(actor, row):
        raise Forbidden("Only the person who attached the file or a supervisor can delete it")
    if not reason:
        raise InvalidInput({"reason": "Say why the file is deleted (kept with the case)"},
                           {"reason": reason})
    if len(reason) > MAX_REASON:
        raise InvalidInput({"reason": f"Keep the reason under {MAX_REASON} characters"},
                           {"reason": reason})
    try:
        gone = session.execute(
            sa.update(CaseAttachment).where(CaseAttachment.id == row.id,
                                            CaseAttachment.deleted_at.is_(None))
            .values(deleted_at=now, deleted_by=actor.username, delete_reason=reason)
            .execution_options(synchronize_session=False))
        if gone.rowcount != 1:
            raise NotFound(f"No attachment {attachment_id} on case {case_id}")
        events.record(session, get_case(session, case_id), "attachment_deleted",
                      actor=actor.username, at=now,
                      details={"attachment_id": row.id, "filename": row.filename,
                               "content_type": row.content_type, "size": row.size,
                               "reason": reason})
        session.commit()
    except sa.exc.IntegrityError:
        session.rollback()
        raise Conflict("Someone else changed this case at the same moment; delete the file "
                       "again", {"reason": reason}) from None
    except BaseException:
        session.rollback()
        raise
    store.remove(row.storage_key)  # after the commit: a failed delete keeps its file
    session.refresh(row)
    return row


__all__ = ["add", "clean_filename", "delete", "get", "list_for_case", "may_delete"]
