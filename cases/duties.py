"""Which steps an action touches, as the policy table sees them (cases/policy.py: `Step`).

Everything here reads the case as it is and the deployed model, never the route an action takes:
a step's lane decides whether it is a supervisor's check, not the team its work item has now.
"""
from __future__ import annotations

import json
from collections import deque
from typing import Any, Iterable, Mapping

from sqlmodel import Session, select

from .case_models import Case, WorkItem
from .events import CaseEvent
from .policy import (APPROVAL, CREDIT_STEP, ORDINARY_STEP, Step, credit_above_limit,
                     is_approval_team)
from .sla import definition_metadata, team_for_lane

ENGINE_ACTORS = ("engine", "system")  # events no person caused
CASE_LEVEL = ("hold", "resume", "cancel", "add_task")


def action_step(session: Session, case: Case, kind: str, params: Mapping[str, Any]) -> Step:
    """Return what a deviation (or claim/complete) with these parameters touches on the case."""
    item_id = params.get("work_item_id")
    if kind in CASE_LEVEL or (kind == "extend_deadline" and item_id is None):
        return open_steps(session, case)
    if item_id is not None:
        item = session.get(WorkItem, item_id)
        if item is None or item.case_id != case.id:
            return ORDINARY_STEP  # the service refuses it with its own message
        step = item_step(session, case, item)
        return step | CREDIT_STEP if credit_above_limit(params.get("data")) else step
    if kind == "jump_to":
        return jump_step(session, case, params["element_id"])
    if kind == "go_back":
        return after_step(session, case, params["element_id"], closed_only=False)
    if kind == "edit_data":
        step = after_step(session, case, params["element_id"], closed_only=True)
        return step | CREDIT_STEP if credit_above_limit(params.get("changes")) else step
    if kind == "override_decision":
        lanes, _ = _model(session, case)
        return APPROVAL if _approval_lane(lanes.get(params["gateway_id"])) else ORDINARY_STEP
    return ORDINARY_STEP


def item_step(session: Session, case: Case, item: WorkItem) -> Step:
    """An approval step if its lane (or, for added steps, the team it was opened for) is one."""
    if not _is_approval_item(session, case, item, _model(session, case)[0]):
        return ORDINARY_STEP
    opener = opened_by(session, case, item)
    return Step(APPROVAL.properties, frozenset({opener} if opener else ()))


def open_steps(session: Session, case: Case) -> Step:
    """The steps a case waits at (what a hold, cancel or added step happens beside)."""
    step = ORDINARY_STEP
    for item in _items(session, case, open_only=True, escalations=True):
        step = step | item_step(session, case, item)
    return step


def jump_step(session: Session, case: Case, target: str) -> Step:
    """Every step on some way from an open step to the target, the open ones included."""
    lanes, edges = _model(session, case)
    open_items = {i.element_id: i for i in _items(session, case, open_only=True)}
    passed = _between(edges, list(open_items), target)
    step = ORDINARY_STEP
    for element_id in passed:
        item = open_items.get(element_id)
        if item is not None:
            step = step | item_step(session, case, item)
        elif _approval_lane(lanes.get(element_id)):
            step = step | APPROVAL
    return step


def after_step(session: Session, case: Case, element_id: str, *, closed_only: bool) -> Step:
    """The step itself and the approval steps opened after its latest completed run.

    Going back undoes them all (`closed_only=False`); correcting its data changes what the
    closed ones decided (`closed_only=True`).
    """
    lanes, _ = _model(session, case)
    items = _items(session, case)
    runs = [i for i in items if i.element_id == element_id and i.state != "open"]
    if not runs:
        return ORDINARY_STEP  # never completed: the engine refuses it with its own message
    latest = runs[-1]
    step = item_step(session, case, latest)
    for item in items:
        if item.id > latest.id and (item.state != "open" or not closed_only) \
                and _is_approval_item(session, case, item, lanes):
            step = step | item_step(session, case, item)
    return step


def opened_by(session: Session, case: Case, item: WorkItem) -> str | None:
    """Return who opened a step: the person whose action opened it, None for a timer or message.

    The events of one action share its time, so the person is the last one before the step's
    `task_opened` event at that same time; an earlier action is somebody else's business.
    """
    opened = [e for e in session.exec(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.type == "task_opened",
        CaseEvent.element_id == item.element_id)).all()
        if json.loads(e.details).get("work_item_id") == item.id]
    if not opened:
        return None
    return session.exec(select(CaseEvent.actor).where(
        CaseEvent.case_id == case.id, CaseEvent.seq < opened[0].seq,
        CaseEvent.at == opened[0].at, CaseEvent.actor.not_in(ENGINE_ACTORS))
        .order_by(CaseEvent.seq.desc()).limit(1)).first()


def _is_approval_item(session: Session, case: Case, item: WorkItem,
                      lanes: Mapping[str, str | None]) -> bool:
    if item.kind == "escalation":
        from .sla_sweep import ESCALATION_TEAM  # sla_sweep imports the services that import us

        return is_approval_team(ESCALATION_TEAM)
    if item.kind == "adhoc":
        return is_approval_team(_opened_team(session, case, item))
    return _approval_lane(lanes.get(item.element_id))


def _approval_lane(lane: str | None) -> bool:
    return is_approval_team(lane, team_for_lane(lane))


def _opened_team(session: Session, case: Case, item: WorkItem) -> str | None:
    """The team an added step was opened for (its work item may have been handed on since)."""
    for details in session.exec(select(CaseEvent.details).where(
            CaseEvent.case_id == case.id, CaseEvent.type == "task_opened",
            CaseEvent.element_id == item.element_id)).all():
        found = json.loads(details)
        if found.get("work_item_id") == item.id:
            return found.get("team")
    return item.team


def _items(session: Session, case: Case, *, open_only: bool = False,
           escalations: bool = False) -> list[WorkItem]:
    """The case's work items in the order they were opened (escalations are no process steps)."""
    query = select(WorkItem).where(WorkItem.case_id == case.id)
    if not escalations:
        query = query.where(WorkItem.kind != "escalation")
    if open_only:
        query = query.where(WorkItem.state == "open")
    return list(session.exec(query.order_by(WorkItem.id)).all())


def _model(session: Session, case: Case) -> tuple[dict[str, str | None], dict[str, set[str]]]:
    """Return element id -> lane and the flow graph (boundary events hang off their task)."""
    lanes: dict[str, str | None] = {}
    edges: dict[str, set[str]] = {}
    for process in definition_metadata(session, case.definition_id).processes:
        for node in process.nodes:
            lanes[node.id] = node.lane
            if node.attached_to:
                edges.setdefault(node.attached_to, set()).add(node.id)
        for flow in process.flows:
            edges.setdefault(flow.source, set()).add(flow.target)
    return lanes, edges


def _between(edges: Mapping[str, set[str]], starts: Iterable[str], target: str) -> set[str]:
    """Elements on some path from a start to the target (the target itself excluded)."""
    ahead = _reach(edges, starts, stop=target)
    backwards: dict[str, set[str]] = {}
    for source, targets in edges.items():
        for nxt in targets:
            backwards.setdefault(nxt, set()).add(source)
    behind = _reach(backwards, [target])
    return (ahead & behind) - {target}


def _reach(edges: Mapping[str, set[str]], starts: Iterable[str],
           stop: str | None = None) -> set[str]:
    starts = list(starts)
    seen, queue = set(starts), deque(starts)
    while queue:
        node = queue.popleft()
        if node == stop:
            continue
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
