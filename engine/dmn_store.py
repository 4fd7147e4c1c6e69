"""Decision tables (.dmn) and Camunda forms (.form) kept beside the process definitions.

Each decision id and form id has numbered versions, like a process (the same bytes again give the
same version). A process version records which of them it was compiled with (`definition_file`),
and the tables and forms themselves are compiled into its spec, so a running case keeps the
decision and form it started with until it is migrated. Functions here only add and flush; the
caller (cases/definitions.py) commits.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from .dmn import decision_ids
from .formjs import FormFile, FormLibrary
from .store import utc_column

KINDS = ("dmn", "form")


class ModelFile(SQLModel, table=True):
    """One version of one decision (kind dmn) or form (kind form): the whole file's text."""

    __tablename__ = "model_file"
    __table_args__ = (
        sa.UniqueConstraint("kind", "key", "version", name="uq_model_file_key_version"),
        sa.UniqueConstraint("kind", "key", "content_hash", name="uq_model_file_key_hash"),
        sa.CheckConstraint("kind IN ('dmn', 'form')", name="ck_model_file_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    key: str = Field(max_length=255, index=True)  # the decision id or form id
    version: int
    filename: str = Field(max_length=255)
    content: str = Field(sa_type=sa.Text)
    content_hash: str = Field(max_length=64)
    uploaded_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = utc_column()


class DefinitionFile(SQLModel, table=True):
    """The pin: a process version was compiled with this decision or form version."""

    __tablename__ = "definition_file"

    definition_id: int = Field(foreign_key="definition_version.id", primary_key=True)
    model_file_id: int = Field(foreign_key="model_file.id", primary_key=True)


def file_hash(data: bytes) -> str:
    """Return the sha256 hex digest of a file's bytes."""
    return hashlib.sha256(data).hexdigest()


def store_file(session: Session, kind: str, key: str, data: bytes, *, filename: str,
               uploaded_by: str | None, now: datetime) -> ModelFile:
    """Store a decision or form file as a new version of `key` (the same bytes: the same row)."""
    digest = file_hash(data)
    existing = session.exec(select(ModelFile).where(
        ModelFile.kind == kind, ModelFile.key == key, ModelFile.content_hash == digest)).first()
    if existing is not None:
        return existing
    latest = session.exec(select(sa.func.max(ModelFile.version)).where(
        ModelFile.kind == kind, ModelFile.key == key)).one()
    row = ModelFile(kind=kind, key=key, version=(latest or 0) + 1, filename=filename,
                    content=data.decode("utf-8"), content_hash=digest, uploaded_by=uploaded_by,
                    created_at=now)
    session.add(row)
    session.flush()
    return row


def store_dmn(session: Session, data: bytes, *, filename: str, uploaded_by: str | None,
              now: datetime) -> list[ModelFile]:
    """Store every decision of a DMN file (one row per decision id, each with the whole file)."""
    return [store_file(session, "dmn", d, data, filename=filename, uploaded_by=uploaded_by, now=now)
            for d in decision_ids(data, filename)]


def latest_files(session: Session, kind: str) -> dict[str, ModelFile]:
    """Map key -> the newest version of each decision or form."""
    rows = session.exec(select(ModelFile).where(ModelFile.kind == kind)
                        .order_by(ModelFile.key, ModelFile.version)).all()
    return {row.key: row for row in rows}


def decision_library(session: Session) -> dict[str, bytes]:
    """Map decision id -> DMN bytes of its newest version."""
    return {key: row.content.encode("utf-8") for key, row in latest_files(session, "dmn").items()}


def form_library(session: Session) -> FormLibrary:
    """The newest version of every stored form, by id and by file name."""
    return FormLibrary.of(FormFile(row.key, row.filename, row.content)
                          for row in latest_files(session, "form").values())


def pin(session: Session, definition_id: int, files: list[ModelFile]) -> None:
    """Record the decision and form versions a process version was compiled with."""
    have = set(session.exec(select(DefinitionFile.model_file_id).where(
        DefinitionFile.definition_id == definition_id)).all())
    for row in files:
        if row.id not in have:
            session.add(DefinitionFile(definition_id=definition_id, model_file_id=row.id))
            have.add(row.id)
    session.flush()


def pinned_files(session: Session, definition_id: int) -> list[ModelFile]:
    """Return the decision and form versions a process version uses, decisions first."""
    return list(session.exec(select(ModelFile).join(
        DefinitionFile, DefinitionFile.model_file_id == ModelFile.id).where(
        DefinitionFile.definition_id == definition_id).order_by(ModelFile.kind, ModelFile.key)).all())


def definitions_using(session: Session, kind: str, key: str) -> list[int]:
    """Return the ids of process versions pinned to any version of a decision or form."""
    return list(session.exec(select(DefinitionFile.definition_id).join(
        ModelFile, ModelFile.id == DefinitionFile.model_file_id).where(
        ModelFile.kind == kind, ModelFile.key == key).distinct()).all())


__all__ = ["DefinitionFile", "KINDS", "ModelFile", "decision_library", "definitions_using",
           "file_hash", "form_library", "latest_files", "pin", "pinned_files", "store_dmn",
           "store_file"]
