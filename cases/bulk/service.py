"""Carry out one deviation on many steps or cases, each its own logged deviation and transaction.

The deviation services (cases/deviation_service.py) do the work, so every case gets exactly the
event and deviation row a single change would give it, under the same policy. One case failing
never stops or undoes the others: the result says, per step or case, what was done and why
something could not be.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Iterable

from sqlmodel import Session, select

from .. import deviation_service
from ..case_models import Case, WorkItem
from ..errors import CaseError, Conflict, Forbidden, InvalidInput
from ..reason_codes import ReasonCode, sync_reason_codes
from ..users import User

KINDS = ("reassign", "extend_deadline", "hold")
ON_STEPS = ("reassign", "extend_deadline")  # these act on work items; hold acts on cases
DECIDERS = ("supervisor", "admin")
MAX_TARGETS = 200
RETRIES = 3  # a case someone else changed meanwhile is tried again with its new version


@dataclass(frozen=True)
class Outcome:
    """What happened to one target: a step (work_item_id) or a whole case."""

    case_id: int | None
    work_item_id: int | None
    done: bool
    message: str


@dataclass
class BulkResult:
    kind: str
    done: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    case_id: int | None
    work_item_id: int | None


def _targets(session: Session, kind: str, work_item_ids: Iterable[int],
             case_ids: Iterable[int]) -> tuple[list[Target], list[Outcome]]:
    """Resolve steps to their cases; a hold takes each case once. Unknown ids fail by themselves."""
    item_ids, wanted_cases = list(dict.fromkeys(work_item_ids)), list(dict.fromkeys(case_ids))
    if not item_ids and not wanted_cases:
        raise InvalidInput({"targets": "Select at least one step or case"})
    if len(item_ids) + len(wanted_cases) > MAX_TARGETS:
        raise InvalidInput({"targets": f"Select at most {MAX_TARGETS} at a time"})
    if kind in ON_STEPS and wanted_cases:
        raise InvalidInput({"case_ids": f"Select steps for {kind.replace('_', ' ')}, not cases"})
    items = {i.id: i for i in session.exec(select(WorkItem).where(WorkItem.id.in_(item_ids))).all()}
    missing = [Outcome(None, i, False, f"No work item {i}") for i in item_ids if i not in items]
    if kind in ON_STEPS:
        return [Target(items[i].case_id, i) for i in item_ids if i in items], missing
    cases = list(dict.fromkeys([items[i].case_id for i in item_ids if i in items] + wanted_cases))
    return [Target(c, None) for c in cases], missing


def _check(session: Session, kind: str, team: str | None, assignee_id: int | None,
           due_at: datetime | None, now: datetime) -> None:
    """Refuse input that would fail for every target, before anything is done."""
    if kind not in KINDS:
        raise InvalidInput({"kind": f"Choose one of {', '.join(KINDS)}"})
    if kind == "reassign" and team is None and assignee_id is None:
        raise InvalidInput({"team": "Choose a team or a person to hand the steps to"})
    if kind == "reassign" and assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or not user.active:
            raise InvalidInput({"assignee_id": f"No active user {assignee_id}"})
    if kind == "extend_deadline" and (due_at is None or due_at <= now):
        raise InvalidInput({"due_at": "Choose a new due time in the future"})
    if kind != "reassign" and (team is not None or assignee_id is not None):
        raise InvalidInput({"team": f"{kind.replace('_', ' ')} does not take a team or person"})
    if kind != "extend_deadline" and due_at is not None:
        raise InvalidInput({"due_at": f"{kind.replace('_', ' ')} does not take a due time"})


def bulk(session: Session, *, actor: User, now: datetime, kind: str, reason_code: str, note: str,
         work_item_ids: Iterable[int] = (), case_ids: Iterable[int] = (),
         team: str | None = None, assignee_id: int | None = None,
         due_at: datetime | None = None) -> BulkResult:
    """Do `kind` to each target with one reason; one transaction (commit) per case."""
    if actor.role not in DECIDERS:
        raise Forbidden("Only a supervisor can change many cases at once")
    _check(session, kind, team, assignee_id, due_at, now)
    _check_reason(session, kind, reason_code, note)
    targets, missing = _targets(session, kind, work_item_ids, case_ids)
    words = _done_words(session, kind, team, assignee_id, due_at)
    session.rollback()  # each target starts from a clean transaction
    result = BulkResult(kind, failed=missing)
    params = {"reassign": {"team": team, "assignee_id": assignee_id},
              "extend_deadline": {"due_at": due_at}, "hold": {}}[kind]
    for target in targets:
        outcome = _one(session, actor, now, kind, target, reason_code, note, params, words)
        (result.done if outcome.done else result.failed).append(outcome)
    return result


def _check_reason(session: Session, kind: str, reason_code: str, note: str) -> None:
    """The reason must exist for this kind (its process is checked per case)."""
    if not (reason_code or "").strip():
        raise InvalidInput({"reason_code": "Choose a reason for these changes"})
    row = session.exec(select(ReasonCode).where(ReasonCode.code == reason_code)).first()
    if row is None and session.exec(select(ReasonCode.id).limit(1)).first() is None:
        sync_reason_codes(session)  # first use: load the shipped catalog, as require_reason does
        row = session.exec(select(ReasonCode).where(ReasonCode.code == reason_code)).first()
    if row is None or not row.active or kind not in row.kind_list:
        raise InvalidInput({"reason_code": f"'{reason_code}' is not a reason to "
                                           f"{kind.replace('_', ' ')} in the catalog"})
    if not (note or "").strip():
        raise InvalidInput({"note": "Say in a few words why (the note is kept with each case)"})


def _one(session: Session, actor: User, now: datetime, kind: str, target: Target,
         reason_code: str, note: str, params: dict, words: str) -> Outcome:
    """One case's deviation in its own transaction; a refusal becomes the outcome's message."""
    action = getattr(deviation_service, kind)
    step = {"work_item_id": target.work_item_id} if target.work_item_id is not None else {}
    version = None
    for _ in range(RETRIES):
        case = session.get(Case, target.case_id, populate_existing=True)
        session.rollback()
        if case is None:
            return Outcome(target.case_id, target.work_item_id, False, f"No case {target.case_id}")
        if version == case.row_version:
            break  # the same refusal again: report it
        version = case.row_version
        try:
            action(session, actor=actor, now=now, case_id=case.id, expected_version=version,
                   reason_code=reason_code, note=note, **step, **params)
        except Conflict as err:
            message = str(err)
            continue  # maybe someone else changed the case: read it again and retry once
        except CaseError as err:
            session.rollback()
            return Outcome(case.id, target.work_item_id, False, str(err))
        return Outcome(case.id, target.work_item_id, True, words)
    return Outcome(target.case_id, target.work_item_id, False, message)


def _done_words(session: Session, kind: str, team: str | None, assignee_id: int | None,
                due_at: datetime | None) -> str:
    """What was done to each target, in words."""
    if kind == "hold":
        return "Put on hold"
    if kind == "extend_deadline":
        return f"Now due {due_at.astimezone(UTC):%a %d %b %Y, %H:%M} UTC"
    person = session.get(User, assignee_id) if assignee_id is not None else None
    to = ([f"team {team}"] if team else []) + ([person.display_name] if person else [])
    return "Handed to " + " and ".join(to)
