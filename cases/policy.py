"""Deviation policy: which role may deviate how, and which deviations need a second person's approval.

The policy is code, not data, so a change to it is reviewed like any other change. `POLICY` maps a
role to the deviation kinds it may perform and the subset of those that need a supervisor's approval;
a role missing from the map (or a kind missing from its set) is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cases.errors import Forbidden

ALL_KINDS = frozenset({"skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
                       "extend_deadline", "hold", "resume", "cancel", "edit_data"})


@dataclass(frozen=True)
class RolePolicy:
    allowed: frozenset[str]
    needs_approval: frozenset[str] = frozenset()


POLICY: dict[str, RolePolicy] = {
    "agent": RolePolicy(allowed=ALL_KINDS, needs_approval=frozenset({"cancel", "override_decision"})),
    "supervisor": RolePolicy(allowed=ALL_KINDS),
    "admin": RolePolicy(allowed=ALL_KINDS),
    "designer": RolePolicy(allowed=frozenset()),
}


def check(actor, kind: str) -> Literal["allowed", "needs_approval"]:
    """Say whether the actor may deviate this way directly or needs approval; raise Forbidden if not at all."""
    rules = POLICY.get(actor.role)
    if rules is None or kind not in rules.allowed:
        raise Forbidden(f"A {actor.role} may not {kind.replace('_', ' ')} a case")
    return "needs_approval" if kind in rules.needs_approval else "allowed"
