"""Segregation of duties: who may do what to which step, as one table every service consults.

The policy is code, not data, so a change to it is reviewed like any other change. `decide()` is
the one door: work items (claim), steps (complete), deviations and approvals all go through it.
An API token acts as its user, so it gets its user's cells.

    action              agent                                   supervisor  admin  designer
                        ordinary  approval step  credit > limit
    claim               allowed   refused        -              allowed     allowed refused
    complete            allowed   refused        allowed (1)    allowed     allowed refused
    skip                allowed   approval       -              allowed     allowed refused
    go_back             allowed   approval       -              allowed     allowed refused
    jump_to             allowed   approval       -              allowed     allowed refused
    override_decision   approval  approval       -              allowed     allowed refused
    add_task            allowed   allowed        -              allowed     allowed refused
    reassign            allowed   approval       -              allowed     allowed refused
    extend_deadline     allowed   allowed        -              allowed     allowed refused
    hold, resume        allowed   allowed        -              allowed     allowed refused
    cancel              approval  approval       -              allowed     allowed refused
    edit_data           allowed   approval       approval       allowed     allowed refused
    approve, reject     refused   refused        refused        allowed     allowed refused

    "-": the action writes no data, so it cannot set a credit. (1) the model routes a credit
    above the limit to its own approval step ("Approve the credit"), which the rows above guard.

What the step property means (`Step`, built by cases/duties.py from the case, never from the
route taken):
- approval step: a step of an approval team's lane (APPROVAL_TEAMS), or a step the process
  opened for such a team (ad-hoc, escalation); the work item's current team does not count, so
  handing it to another team does not launder it. An action touches it when it claims,
  completes, skips, hands over or extends it; jumps over it (it lies on a way from an open step
  to the target); goes back over it (it ran after the step gone back to); overrides a decision
  of its lane; corrects data it decided (it ran after the corrected step); cancels or holds a
  case waiting at it.
- credit above the limit: the data written sets a CREDIT_FIELDS field above CREDIT_LIMIT.
An action touching several steps gets the strictest of their cells.

Over the table, two rules nobody is exempt from: nobody decides their own request (the
requester of an approval request never approves or rejects it, and is never the approver when it
is carried out), and whoever opened an approval step (completed the step that led to it) never
decides it: they may ask for it to be skipped, but not complete, skip, jump past or correct it
themselves, nor approve someone's request to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Protocol

from cases.errors import Forbidden

DEVIATION_KINDS = ("skip", "go_back", "jump_to", "override_decision", "add_task", "reassign",
                   "extend_deadline", "hold", "resume", "cancel", "edit_data")
ALL_KINDS = frozenset(DEVIATION_KINDS)
ACTIONS = DEVIATION_KINDS + ("claim", "complete", "approve", "reject")
ROLES = ("agent", "supervisor", "admin", "designer")

ALLOWED, NEEDS_APPROVAL, REFUSED = "allowed", "needs_approval", "refused"
ORDINARY, APPROVAL_STEP, CREDIT = "ordinary", "approval_step", "credit_above_limit"
PROPERTIES = (ORDINARY, APPROVAL_STEP, CREDIT)

# A step worked by one of these teams is itself a second person's check (e.g. "Approve the credit").
APPROVAL_TEAMS = frozenset({"Supervisors"})
# Form fields that carry money given to the customer, and the amount above which a second person
# must agree (billing_inquiry models the same limit as its own approval step).
CREDIT_FIELDS = frozenset({"credit_amount"})
CREDIT_LIMIT = 100
# Actions that settle or bypass a check: the person who opened the check may not do them to it.
DECIDING = frozenset({"complete", "skip", "jump_to", "edit_data", "approve"})

_A, _Q, _R, _N = ALLOWED, NEEDS_APPROVAL, REFUSED, None  # _N: the property cannot arise
# The agent's cells: (ordinary step, approval step, credit above the limit).
AGENT: dict[str, tuple[str, str, str | None]] = {
    "claim": (_A, _R, _N),
    "complete": (_A, _R, _A),
    "skip": (_A, _Q, _N),
    "go_back": (_A, _Q, _N),
    "jump_to": (_A, _Q, _N),
    "override_decision": (_Q, _Q, _N),
    "add_task": (_A, _A, _N),
    "reassign": (_A, _Q, _N),
    "extend_deadline": (_A, _A, _N),
    "hold": (_A, _A, _N),
    "resume": (_A, _A, _N),
    "cancel": (_Q, _Q, _N),
    "edit_data": (_A, _Q, _Q),
    "approve": (_R, _R, _R),
    "reject": (_R, _R, _R),
}


def _build() -> dict[tuple[str, str, str], str]:
    """Spell the table out cell by cell: supervisors and admins may all, designers nothing."""
    table = {}
    for action, cells in AGENT.items():
        for prop, cell in zip(PROPERTIES, cells):
            if cell is None:
                continue
            table[("agent", action, prop)] = cell
            table[("supervisor", action, prop)] = table[("admin", action, prop)] = ALLOWED
            table[("designer", action, prop)] = REFUSED
    return table


TABLE: dict[tuple[str, str, str], str] = _build()
_SEVERITY = {ALLOWED: 0, NEEDS_APPROVAL: 1, REFUSED: 2}


@dataclass(frozen=True)
class Step:
    """What the policy needs to know about the step(s) an action touches."""

    properties: frozenset[str] = frozenset({ORDINARY})
    opened_by: frozenset[str] = frozenset()  # who opened the approval steps touched

    def __or__(self, other: Step) -> Step:
        props = (self.properties | other.properties) - {ORDINARY}
        return Step(props or frozenset({ORDINARY}), self.opened_by | other.opened_by)


ORDINARY_STEP = Step()
APPROVAL = Step(frozenset({APPROVAL_STEP}))
CREDIT_STEP = Step(frozenset({CREDIT}))


class Approver(Protocol):
    approver: str


_WORDS = {"skip": "skip steps", "go_back": "send a case back", "jump_to": "jump ahead",
          "override_decision": "override decisions", "add_task": "add steps",
          "reassign": "hand work over", "extend_deadline": "extend deadlines",
          "hold": "put cases on hold", "resume": "resume cases", "cancel": "cancel cases",
          "edit_data": "correct data", "claim": "claim steps", "complete": "complete steps",
          "approve": "approve requests", "reject": "reject requests"}
_WHY = {ORDINARY: "", APPROVAL_STEP: " here: this is a supervisor's check",
        CREDIT: f" here: it sets a credit above {CREDIT_LIMIT} EUR"}


def decide(actor, action: str, step: Step = ORDINARY_STEP, *,
           approval: Approver | None = None, requested_by: str | None = None
           ) -> Literal["allowed", "needs_approval"]:
    """Say whether the actor may do this to this step now or needs approval; raise Forbidden if not.

    `approval` is the supervisor's approval being carried out (a needs-approval cell is then
    allowed); `requested_by` is the requester of the approval request being decided.
    """
    if action not in AGENT:
        raise ValueError(f"Unknown action {action!r}")
    if requested_by is not None and actor.username == requested_by:
        raise Forbidden("Nobody approves or rejects their own request; ask a supervisor")
    if approval is not None and approval.approver == actor.username:
        raise Forbidden("Nobody carries out their own approval; another person must request it")
    cells = [(prop, TABLE.get((actor.role, action, prop), REFUSED))
             for prop in sorted(step.properties)]
    prop, worst = max(cells, key=lambda cell: _SEVERITY[cell[1]])
    if worst == REFUSED:
        article = "An" if actor.role[:1] in "aeiou" else "A"
        raise Forbidden(f"{article} {actor.role} may not {_WORDS[action]}{_WHY[prop]}"
                        + ("; ask a supervisor" if actor.role == "agent" else ""))
    if worst == NEEDS_APPROVAL and approval is None:
        return NEEDS_APPROVAL  # a request: someone else decides, and `approve` asks this again
    decider = approval.approver if approval is not None else actor.username
    if action in DECIDING and decider in step.opened_by:
        raise Forbidden("A second person's check cannot be decided by whoever asked for it; "
                        "another supervisor must do it")
    return ALLOWED


def check(actor, kind: str, *, sensitive: bool = False) -> Literal["allowed", "needs_approval"]:
    """Return the actor's cell for an ordinary (or, `sensitive`, an approval) step; see `decide`."""
    return decide(actor, kind, APPROVAL if sensitive else ORDINARY_STEP)


def credit_above_limit(changes: Mapping[str, Any] | None) -> bool:
    """Whether data sets a credit above the limit (a non-number is left to the form check)."""
    for key, value in (changes or {}).items():
        if key in CREDIT_FIELDS:
            try:
                if float(value) > CREDIT_LIMIT:
                    return True
            except (TypeError, ValueError):
                continue
    return False


def is_approval_team(*names: str | None) -> bool:
    """Whether any of these lane or team names is an approval team."""
    return any(" ".join(name.split()) in APPROVAL_TEAMS for name in names if name)
