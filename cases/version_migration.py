"""Moving running cases from one version of a process to another, after a dry run.

`dry_run` says per case whether it can move and why not (engine.migration.check), and warns about
target steps that cases of the old version often deviated at. `migrate` moves the movable cases,
each in its own transaction through `engine_action` (lock -> load -> migrate -> save -> re-project
-> `process_migrated` event -> commit); a case that fails is rolled back and reported, the others
go on. Ready steps keep their task ids, so open work items keep their assignee and due date.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import store
from engine.clock import utcnow
from engine.errors import EngineError
from engine.migration import CannotMigrate, check
from engine.migration import migrate as engine_migrate
from engine.store import DefinitionVersion

from . import events
from .case_models import Case, WorkItem
from .case_service import engine_action
from .deviations import Deviation
from .errors import CaseError, Forbidden, InvalidInput, NotFound
from .events import CaseEvent
from .sla import definition_metadata
from .users import User

MOVABLE_STATUSES = ("open", "on_hold")
HIGH_DEVIATION_RATE = 0.25  # share of the cases reaching a step that deviated there
MIN_DEVIATIONS = 2  # fewer deviations than this are noise, whatever the rate
MIGRATING_ROLES = ("designer", "admin")


@dataclass(frozen=True)
class CaseCheck:
    """The dry-run verdict on one case."""

    case_id: int
    can_move: bool
    reasons: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # element ids the case is on now


@dataclass(frozen=True)
class StepWarning:
    """A step of the target that cases of the old version often deviated at."""

    element_id: str
    name: str | None
    deviations: int  # cases of the old version that deviated at the step
    reached: int  # cases of the old version that reached the step
    kinds: list[str] = field(default_factory=list)
    old_name: str | None = None  # the step's name in the old version, where the deviations happened

    @property
    def rate(self) -> float:
        return self.deviations / self.reached if self.reached else 1.0

    def describe(self) -> str:
        said = self.old_name or self.name
        label = f"'{said}' ({self.element_id})" if said else self.element_id
        if self.name and said != self.name:
            label += f", called '{self.name}' in the new version"
        return (f"Step {label}: {self.deviations} of {self.reached} cases on the old version "
                f"deviated there ({self.rate:.0%}; {', '.join(self.kinds)}). Check the new "
                "version fixes what made people leave the path.")


@dataclass(frozen=True)
class DryRun:
    """What a migration would do: per case, and warnings about the target's steps."""

    source: DefinitionVersion
    target: DefinitionVersion
    cases: list[CaseCheck]
    warnings: list[StepWarning]

    @property
    def movable(self) -> list[int]:
        return [c.case_id for c in self.cases if c.can_move]


@dataclass(frozen=True)
class CaseResult:
    """What the migration did to one case."""

    case_id: int
    moved: bool
    reason: str | None = None


def _versions(session: Session, from_id: int, to_id: int) -> tuple[DefinitionVersion, DefinitionVersion]:
    source, target = session.get(DefinitionVersion, from_id), session.get(DefinitionVersion, to_id)
    if source is None:
        raise NotFound(f"No definition version {from_id}")
    if target is None:
        raise NotFound(f"No definition version {to_id}")
    errors = {}
    if source.process_id != target.process_id:
        errors["to"] = (f"Version {to_id} belongs to process '{target.process_id}', not "
                        f"'{source.process_id}'; cases only move between versions of one process")
    elif source.id == target.id:
        errors["to"] = "Choose a different version to move the cases to"
    elif target.status == "retired":
        errors["to"] = f"v{target.version} is retired; cases cannot move to a retired version"
    if errors:
        raise InvalidInput(errors, {"from": str(from_id), "to": str(to_id)})
    return source, target


def _running_cases(session: Session, from_id: int, case_ids=None) -> list[Case]:
    query = select(Case).where(Case.definition_id == from_id, Case.status.in_(MOVABLE_STATUSES))
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    return list(session.exec(query.order_by(Case.id)).all())


def dry_run(session: Session, *, from_id: int, to_id: int, now: datetime | None = None,
            case_ids=None) -> DryRun:
    """Say for every running case of `from_id` whether it can move to `to_id`; change nothing."""
    now = now or utcnow()
    source, target = _versions(session, from_id, to_id)
    compiled = store.compiled(target)
    checks = []
    for case in _running_cases(session, from_id, case_ids):
        try:
            _row, live = store.load_instance(session, case.instance_id)
            verdict = check(live, compiled, now=now)
            checks.append(CaseCheck(case.id, verdict.can_move, verdict.reasons, verdict.steps))
        except EngineError as err:
            checks.append(CaseCheck(case.id, False, [f"The case could not be loaded: {err}"]))
    session.rollback()  # nothing was written; end the read transaction
    return DryRun(source, target, checks, deviation_warnings(session, source, target))


def deviation_warnings(session: Session, source: DefinitionVersion,
                       target: DefinitionVersion) -> list[StepWarning]:
    """Warn about target steps where many cases of the source version deviated."""
    deviated = session.exec(
        select(Deviation.element_id, sa.func.count(sa.distinct(Deviation.case_id)))
        .where(Deviation.definition_id == source.id, Deviation.element_id.is_not(None))
        .group_by(Deviation.element_id)).all()
    counts = {eid: n for eid, n in deviated if n >= MIN_DEVIATIONS}
    if not counts:
        return []
    kinds: dict[str, list[str]] = {}
    for eid, kind in session.exec(
            select(Deviation.element_id, Deviation.kind).distinct()
            .where(Deviation.definition_id == source.id, Deviation.element_id.in_(list(counts)))):
        kinds.setdefault(eid, []).append(kind)
    reached = dict(session.exec(
        select(CaseEvent.element_id, sa.func.count(sa.distinct(CaseEvent.case_id)))
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.definition_id == source.id, CaseEvent.type == "task_opened",
               CaseEvent.element_id.in_(list(counts)))
        .group_by(CaseEvent.element_id)).all())
    # Cases already moved away deviated on the source too: count them through the deviation rows.
    nodes = {n.id: n for p in definition_metadata(session, target.id).processes for n in p.nodes}
    old_nodes = {n.id: n for p in definition_metadata(session, source.id).processes for n in p.nodes}
    warnings = []
    for eid, n in sorted(counts.items()):
        if eid not in nodes:
            continue
        total = max(reached.get(eid, 0), n)
        if n / total >= HIGH_DEVIATION_RATE:
            old = old_nodes.get(eid)
            warnings.append(StepWarning(eid, nodes[eid].name, n, total, sorted(kinds.get(eid, [])),
                                        old.name if old else None))
    return warnings


def migrate(session: Session, *, actor: User, now: datetime, from_id: int, to_id: int,
            case_ids=None, lane_teams=None) -> list[CaseResult]:
    """Move the running cases of `from_id` (or only `case_ids`) to `to_id`, one transaction each."""
    if actor.role not in MIGRATING_ROLES:
        raise Forbidden("Only designers and admins can move cases between versions")
    source, target = _versions(session, from_id, to_id)
    compiled = store.compiled(target)
    facts = {"process_id": source.process_id, "from_definition_id": source.id,
             "from_version": source.version, "to_definition_id": target.id,
             "to_version": target.version}
    wanted = [c.id for c in _running_cases(session, from_id, case_ids)]
    results = [CaseResult(cid, False, "The case is not a running case of that version")
               for cid in sorted(set(case_ids or ()) - set(wanted))]
    session.rollback()
    for case_id in wanted:
        results.append(_migrate_case(session, case_id, actor=actor, now=now, to_id=target.id,
                                     from_id=source.id, compiled=compiled, facts=facts,
                                     lane_teams=lane_teams))
    return sorted(results, key=lambda r: r.case_id)


def _migrate_case(session: Session, case_id: int, *, actor: User, now: datetime, from_id: int,
                  to_id: int, compiled, facts: dict, lane_teams) -> CaseResult:
    case = session.get(Case, case_id, populate_existing=True)
    try:
        with engine_action(session, actor=actor, now=now, case_id=case_id,
                           expected_version=case.row_version, statuses=MOVABLE_STATUSES,
                           lane_teams=lane_teams) as action:
            if action.case.definition_id != from_id:
                raise CannotMigrate(["The case moved to another version meanwhile"])
            steps = sorted({t.element_id for t in action.live.ready_tasks()})
            engine_migrate(action.live, compiled, now=now)
            store.move_instance(session, action.row, to_id)
            action.case.definition_id = to_id
            session.add(action.case)
            # the steps still open belong to the new version now (done ones stay with the old)
            session.execute(sa.update(WorkItem).where(WorkItem.case_id == case_id,
                                                      WorkItem.state == "open")
                            .values(definition_id=to_id)
                            .execution_options(synchronize_session="fetch"))
            events.record(session, action.case, "process_migrated", actor=actor.username, at=now,
                          details={**facts, "steps": steps})
    except CannotMigrate as err:
        return CaseResult(case_id, False, "; ".join(err.reasons))
    except (CaseError, EngineError) as err:
        return CaseResult(case_id, False, str(err))
    except Exception as err:  # noqa: BLE001 - one broken case must not stop the others
        session.rollback()
        return CaseResult(case_id, False, f"Unexpected error: {type(err).__name__}: {err}")
    return CaseResult(case_id, True)


__all__ = [
    "CaseCheck",
    "CaseResult",
    "DryRun",
    "StepWarning",
    "deviation_warnings",
    "dry_run",
    "migrate",
]
