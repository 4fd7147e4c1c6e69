"""The JSON API for integrators (kept apart from the hypermedia routes)."""
from __future__ import annotations

from fastapi import APIRouter

from cases.definitions import list_definitions

from .security import CurrentUser, SessionDep

router = APIRouter()


@router.get("/health")
def health() -> dict:
    """Answer that the service is up."""
    return {"status": "ok"}


@router.get("/definitions")
def definitions(user: CurrentUser, session: SessionDep) -> dict:
    """List definition versions."""
    rows = list_definitions(session)
    data = [{"process_id": v.process_id, "version": v.version, "name": v.name, "status": v.status,
             "content_hash": v.content_hash, "created_at": v.created_at.isoformat()} for v in rows]
    return {"data": data, "count": len(data)}
