"""One page of a JSON list: {"items": [...], "total": N, "limit": L, "offset": O}.

Every list route written after issue 16 answers this envelope: `limit` (1-200, default 50) and
`offset` (0 upwards) in the query, `total` the number of rows the filters match (so a client
knows when to stop: offset + len(items) >= total). The lists that came before it keep their
`{"data", "count"}` answers so existing clients do not break (README: JSON API).
"""
from __future__ import annotations

from typing import Annotated, Generic, Sequence, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from .inputs import INT_MAX

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items at most")]
Offset = Annotated[int, Query(ge=0, le=INT_MAX, description="How many items to skip")]


class Paged(BaseModel, Generic[T]):
    """One page of a list, with the number of items all pages hold together."""

    items: list[T]
    total: int = Field(ge=0, description="Items matching the filters, on every page together")
    limit: int = Field(ge=1, le=MAX_LIMIT)
    offset: int = Field(ge=0)


def page(items: Sequence, total: int, *, limit: int, offset: int) -> dict:
    """The envelope of one page (the route's response model checks the items)."""
    return {"items": list(items), "total": int(total), "limit": limit, "offset": offset}
