"""Service levels from the BPMN (caseflow.sla on processes and tasks) and lane -> team mapping."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from sqlmodel import Session, select

from engine.metadata import DefinitionMetadata, parse_duration, read_metadata
from engine.store import DefinitionVersion, active_version, definition_ref
from engine.xmlsafe import parse_bpmn_xml

from .calendars.service import clock_for_team
from .settings import configured_lane_teams

_METADATA: dict[tuple[str, str], DefinitionMetadata] = {}
DEFAULT_AT_RISK = 0.8  # share of a target's time after which it is at risk (Settings.sla_at_risk)


def definition_metadata(session: Session, definition_id: int) -> DefinitionMetadata:
    """Return the metadata of a stored version, reading its BPMN only on a cache miss."""
    pid, digest, filename, _ = definition_ref(session, definition_id)
    metadata = _METADATA.get((pid, digest))
    if metadata is None:
        xml = session.exec(select(DefinitionVersion.bpmn_xml)
                           .where(DefinitionVersion.id == definition_id)).one()
        metadata = _METADATA[(pid, digest)] = read_metadata(parse_bpmn_xml(xml.encode("utf-8"), filename))
    return metadata


def _duration(text: str | None) -> timedelta | None:
    return parse_duration(text) if text else None


def promised_at(session: Session, definition_id: int, process_id: str,
                contacted_at: datetime) -> datetime | None:
    """Return when the case is promised done: first contact plus the process's caseflow.sla."""
    process = definition_metadata(session, definition_id).process(process_id)
    sla = _duration(process.sla)
    return contacted_at + sla if sla else None


def task_due(session: Session, definition_id: int, process_id: str, element_id: str,
             ready_at: datetime, team: str | None = None) -> datetime | None:
    """Return when a step is due: the time it became ready plus the task's caseflow.sla,
    counted on the business calendar of the team that works it (cases/calendars).

    A step of a called process is looked up in the active version of that process when the
    caller's own file does not define it.
    """
    sla = task_sla(session, definition_id, process_id, element_id)
    return due_after(session, team, ready_at, sla) if sla else None


def task_sla(session: Session, definition_id: int, process_id: str,
             element_id: str) -> timedelta | None:
    """Return a step's caseflow.sla as a duration (None: the model gives it none)."""
    for metadata in _metadata_candidates(session, definition_id, process_id):
        for process in metadata.processes:
            node = next((n for n in process.nodes if n.id == element_id), None)
            if node is not None:
                return _duration(node.sla)
    return None


def due_after(session: Session, team: str | None, start: datetime, duration: timedelta) -> datetime:
    """Return when an internal target of `duration` from `start` falls for a team: on its
    business calendar (working days and hours) if it has one, else in plain calendar time."""
    clock = clock_for_team(session, team)
    return clock.add(start, duration) if clock is not None else start + duration


def moved_by_pause(session: Session, team: str | None, due: datetime, paused_from: datetime,
                   paused_to: datetime) -> datetime:
    """Return a target moved on by a pause of the internal clock: by the working time the pause
    took on the team's calendar, else by the time it took."""
    clock = clock_for_team(session, team)
    if clock is None:
        return due + (paused_to - paused_from)
    held = clock.working_between(paused_from, paused_to)
    return clock.add_hours(due, held) if held else due  # a weekend's hold moves nothing


def _metadata_candidates(session: Session, definition_id: int, process_id: str):
    yield definition_metadata(session, definition_id)
    called = active_version(session, process_id)
    if called is not None and called.id != definition_id:
        yield definition_metadata(session, called.id)


def team_for_lane(lane: str | None, lane_teams: Mapping[str, str] | None = None) -> str | None:
    """Return the team that works a lane: the lane's own name unless mapped otherwise.

    Without an explicit mapping, CASEFLOW_LANE_TEAMS applies (cases.settings), so every path that
    opens work items — a person's action, the timer and SLA sweeps — maps lanes the same way.
    """
    if not lane:
        return None
    mapping = lane_teams if lane_teams is not None else configured_lane_teams()
    name = " ".join(lane.split())  # modelers wrap long lane names; the team name is one line
    return mapping.get(name, name)


class epoch(FunctionElement):
    """Seconds since 1970 of a stored UTC datetime, on SQLite and PostgreSQL."""

    type = sa.Float()
    inherit_cache = True


@compiles(epoch)
def _epoch_default(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def at_risk_reached(start, target, now: datetime, share: float) -> sa.ColumnElement[bool]:
    """SQL: `share` of the time from `start` to `target` is used by `now` (to the millisecond:
    SQLite's julianday arithmetic is a floating-point day count)."""
    return epoch(start) + (epoch(target) - epoch(start)) * share <= now.timestamp() + 0.001


def sla_status(start, target, now: datetime, share: float = DEFAULT_AT_RISK) -> sa.ColumnElement:
    """SQL expression 'breached' / 'at_risk' / 'on_time' ('none' without a target), computed at `now`."""
    return sa.case((target.is_(None), "none"), (target <= now, "breached"),
                   (at_risk_reached(start, target, now, share), "at_risk"), else_="on_time")
