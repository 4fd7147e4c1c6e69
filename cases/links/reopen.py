"""Reopen a resolved case: the process goes back to a step that was done, with a reason.

Reopening is rework after the customer was told it was done, so it is logged as a deviation of
kind go_back (event `case_reopened`), and the scorecard counts the case as not first time right.
The engine continues from the chosen step exactly as after a go-back: the step opens again
(given back to whoever did it, if they still may), and the case is open until the process ends
again. The policy's go_back cells apply; where they would ask for a supervisor's approval (an
approval step lies on the way), reopening is refused: a supervisor reopens it.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine import deviations as engine_deviations
from engine.errors import StepNotFound

from .. import duties, policy
from ..case_models import Case
from ..case_service import engine_action, get_case
from ..deviation_service import _deviate
from ..errors import Conflict, Forbidden, InvalidInput
from ..reason_codes import require_reason
from ..rework import keep_worker
from ..users import User


def reopen_case(session: Session, *, actor: User, now: datetime, case_id: int,
                expected_version: int, element_id: str, reason_code: str, note: str) -> Case:
    """Reopen a resolved case at a step it went through. Commit once."""
    case = get_case(session, case_id)
    if case.status != "resolved":
        raise Conflict(f"Only a resolved case can be reopened; case {case_id} is "
                       f"{case.status.replace('_', ' ')}")
    if not (element_id or "").strip():
        raise InvalidInput({"element_id": "Choose the step the case goes back to"})
    step = duties.action_step(session, case, "go_back", {"element_id": element_id})
    if policy.decide(actor, "go_back", step) != "allowed":
        raise Forbidden("Reopening this case goes back over a supervisor's approval step; "
                        "ask a supervisor to reopen it")
    with engine_action(session, actor=actor, now=now, case_id=case_id,
                       expected_version=expected_version, statuses=("resolved",)) as action:
        reason = require_reason(session, "go_back", reason_code, note, action.case.process_id)
        closed_at = action.case.closed_at
        try:
            done = engine_deviations.go_back(action.live, element_id, now=now)
        except StepNotFound as err:
            raise InvalidInput({"element_id": str(err)}) from None
        keep_worker(session, action, done.task_id)
        action.case.status, action.case.closed_at = "open", None
        session.add(action.case)
        _deviate(session, action, reason, kind="go_back", event_type="case_reopened", actor=actor,
                 now=now, note=note, element_id=element_id,
                 details={"name": done.name, "reopened": True,
                          "resolved_at": closed_at.isoformat() if closed_at else None})
    return action.case
