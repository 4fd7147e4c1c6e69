"""Deviation policy: which role may deviate how, and which deviations need a second person's approval.

The policy is code, not data, so a change to it is reviewed like any other change. `POLICY` maps a
role to the deviation kinds it may perform and the subset of those that need a supervisor's approval;
a role missing from the map (or a kind missing from its set) is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from cases.errors import Forbidden

ALL_KINDS = frozenset({"skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
                       "extend_deadline", "hold", "resume", "cancel", "edit_data"})


# A step worked by one of these teams is itself a second person's check (e.g. "Approve the credit").
APPROVAL_TEAMS = frozenset({"Supervisors"})
# Form fields that carry money given to the customer, and the amount above which a second person
# must agree (billing_inquiry models the same limit as its own approval step).
CREDIT_FIELDS = frozenset({"credit_amount"})
CREDIT_LIMIT = 100


@dataclass(frozen=True)
class RolePolicy:
    allowed: frozenset[str]
    needs_approval: frozenset[str] = frozenset()
    sensitive_needs_approval: bool = False  # skipping an approval step, a credit above the limit


POLICY: dict[str, RolePolicy] = {
    "agent": RolePolicy(allowed=ALL_KINDS, needs_approval=frozenset({"cancel", "override_decision"}),
                        sensitive_needs_approval=True),
    "supervisor": RolePolicy(allowed=ALL_KINDS),
    "admin": RolePolicy(allowed=ALL_KINDS),
    "designer": RolePolicy(allowed=frozenset()),
}


def check(actor, kind: str, *, sensitive: bool = False) -> Literal["allowed", "needs_approval"]:
    """Say whether the actor may deviate this way directly or needs approval; raise Forbidden if not at all.

    `sensitive` marks a deviation that would bypass a second person's check (see `sensitive()`).
    """
    rules = POLICY.get(actor.role)
    if rules is None or kind not in rules.allowed:
        raise Forbidden(f"A {actor.role} may not {kind.replace('_', ' ')} a case")
    if kind in rules.needs_approval or (sensitive and rules.sensitive_needs_approval):
        return "needs_approval"
    return "allowed"


def sensitive(*, team: str | None = None, changes: Mapping[str, Any] | None = None) -> bool:
    """Whether a deviation touches a step of an approval team or sets a credit above the limit."""
    if team in APPROVAL_TEAMS:
        return True
    for key, value in (changes or {}).items():
        if key in CREDIT_FIELDS:
            try:
                if float(value) > CREDIT_LIMIT:
                    return True
            except (TypeError, ValueError):
                continue  # not a number: the form check refuses it with its own message
    return False
