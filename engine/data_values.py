"""The data values of a workflow state: every scalar any task held in its data, once each.

The search index makes a case's data findable by them (cases/search/index.py). Every saved state
also keeps a digest of them in its row (`WorkflowInstance.data_digest`, engine/store.py), so an
action can tell whether it changed the values by comparing the digest of the state it loaded
with that of the state it saved, without reading the loaded state a second time.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

MAX_VALUE = 2_000  # characters kept of any one data value
# Where a serialized workflow keeps task data: whole (`data`) or as changes (`delta.updates`).
DATA_KEYS = ("data", "updates")


def data_values(state: str | None) -> list[str]:
    """Every scalar value any task of the workflow held in its data, once each, in order."""
    if not state:
        return []
    try:
        tree = json.loads(state)
    except ValueError:
        return []
    seen: dict[str, None] = {}
    for data in _data_dicts(tree):
        for key, value in data.items():
            if not str(key).startswith("_caseflow"):
                _scalars(value, seen)
    return list(seen)


def _data_dicts(node: Any):
    """The data mappings anywhere in a serialized workflow (tasks, subprocesses, ad-hoc steps)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in DATA_KEYS and isinstance(value, dict):
                    yield value
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _scalars(value: Any, seen: dict[str, None], depth: int = 0) -> None:
    if isinstance(value, str):
        if value.strip():
            seen.setdefault(value.strip()[:MAX_VALUE], None)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seen.setdefault(str(value), None)
    elif isinstance(value, dict) and depth < 8:
        for item in value.values():
            _scalars(item, seen, depth + 1)
    elif isinstance(value, list) and depth < 8:
        for item in value:
            _scalars(item, seen, depth + 1)


def values_digest(values: list[str]) -> str:
    """A short fingerprint of a state's data values (their order included)."""
    return hashlib.sha256("\x1f".join(values).encode("utf-8", "surrogatepass")).hexdigest()[:32]
