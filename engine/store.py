"""Persistence of definition versions and workflow instances (SQLModel tables and their queries).

Functions here only `session.add` and flush; the caller (a cases/ service) owns the commit.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Field, Session, SQLModel, select

from . import runtime
from .data_values import data_values, values_digest
from .definitions import (CompiledProcess, compile_processes, content_hash, deployment_hash,
                          process_from_spec_json)
from .formjs import FormLibrary
from .errors import EngineError, InvalidBpmn, Problem
from .serializer import SERIALIZER_VERSION


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware datetimes on every database (SQLite returns naive values otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def utc_column(**kwargs) -> Any:
    """Field for an aware datetime column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class StaleState(EngineError):
    """Someone else changed the instance since it was loaded."""


class DefinitionVersion(SQLModel, table=True):
    """One deployed version of one process: immutable once stored, except its status."""

    __tablename__ = "definition_version"
    __table_args__ = (
        sa.UniqueConstraint("process_id", "version", name="uq_definition_process_version"),
        sa.UniqueConstraint("process_id", "content_hash", name="uq_definition_process_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=255, index=True)
    version: int
    name: str | None = Field(default=None, max_length=255)
    status: str = Field(default="draft", max_length=16, index=True)  # draft / active / retired
    content_hash: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    bpmn_xml: str = Field(sa_type=sa.Text)
    spec_json: str = Field(sa_type=sa.Text)
    uploaded_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = utc_column()
    activated_at: datetime | None = utc_column(default=None, nullable=True)
    activated_by: str | None = Field(default=None, max_length=255)
    retired_at: datetime | None = utc_column(default=None, nullable=True)
    retired_by: str | None = Field(default=None, max_length=255)


class WorkflowInstance(SQLModel, table=True):
    """The engine state of one case's workflow; `row_version` guards against lost updates."""

    __tablename__ = "workflow_instance"

    id: int | None = Field(default=None, primary_key=True)
    definition_id: int = Field(foreign_key="definition_version.id", index=True)
    state: str = Field(sa_type=sa.Text)
    serializer_version: str = Field(max_length=16)
    status: str = Field(default="running", max_length=16, index=True)  # running/completed/cancelled
    next_timer_due: datetime | None = utc_column(default=None, nullable=True, index=True)
    row_version: int = Field(default=1)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    # Digest of the state's data values (engine/data_values.py), written with every state: an
    # action compares it with the saved state's to know whether the values changed. NULL:
    # written before it was kept.
    data_digest: str | None = Field(default=None, max_length=64)


# ---- definitions ------------------------------------------------------------------------------
def deploy(session: Session, data: bytes, *, filename: str, uploaded_by: str | None, now: datetime,
           activate: bool = False, decisions: Mapping[str, bytes] | None = None,
           forms: FormLibrary | None = None) -> list[DefinitionVersion]:
    """Store every executable process of a file as a new version (the same bytes give the same one).

    `activate` makes them the active versions, except that the bytes of a retired version do not
    bring it back while another version is active (a restart deploying the shipped files must not
    undo a redesign deployed since): that takes an explicit `activate_version`. `decisions` and
    `forms` are the DMN tables and Camunda forms it may use; the ones it uses count in its content
    hash, so the same BPMN with a changed table is a new version.
    """
    digest = deployment_hash(data, filename, decisions or {}, forms or FormLibrary())
    compiled = compile_processes(data, filename, called=_called_library(session),
                                 decisions=decisions, forms=forms)
    versions = []
    for pid, process in compiled.items():
        existing = session.exec(select(DefinitionVersion).where(
            DefinitionVersion.process_id == pid, DefinitionVersion.content_hash == digest)).first()
        version = existing or _new_version(session, pid, process, data, digest, filename,
                                           uploaded_by, now)
        rollback = (existing is not None and existing.status == "retired"
                    and active_version(session, pid) is not None)
        if activate and not rollback:
            activate_version(session, version, now=now, actor=uploaded_by)
        versions.append(version)
    session.flush()
    return versions


def _new_version(session, pid, process: CompiledProcess, data, digest, filename, uploaded_by, now):
    latest = session.exec(select(sa.func.max(DefinitionVersion.version)).where(
        DefinitionVersion.process_id == pid)).one()
    version = DefinitionVersion(
        process_id=pid, version=(latest or 0) + 1, name=process.name, content_hash=digest,
        filename=filename, bpmn_xml=data.decode("utf-8"), spec_json=process.spec_json(),
        uploaded_by=uploaded_by, created_at=now)
    session.add(version)
    session.flush()
    return version


def _called_library(session: Session) -> dict[str, bytes]:
    """Map process id -> file bytes of the active versions, for call activities across files."""
    rows = session.exec(select(DefinitionVersion.process_id, DefinitionVersion.bpmn_xml).where(
        DefinitionVersion.status == "active")).all()
    return {pid: xml.encode("utf-8") for pid, xml in rows}


def activate_version(session: Session, version: DefinitionVersion, *, now: datetime,
                     actor: str | None) -> None:
    """Make a version the one new cases start on; the previously active version is retired.

    Who did it and when is kept on the rows (the latest activation and retirement of each)."""
    if version.status == "active":
        return
    for other in session.exec(select(DefinitionVersion).where(
            DefinitionVersion.process_id == version.process_id,
            DefinitionVersion.status == "active")).all():
        retire_version(session, other, now=now, actor=actor)
    version.status, version.activated_at, version.activated_by = "active", now, actor
    session.add(version)


def retire_version(session: Session, version: DefinitionVersion, *, now: datetime,
                   actor: str | None) -> None:
    """No new case starts on the version any more; running cases go on."""
    if version.status == "retired":
        return
    version.status, version.retired_at, version.retired_by = "retired", now, actor
    session.add(version)


def active_version(session: Session, process_id: str) -> DefinitionVersion | None:
    """Return the active version of a process, if any."""
    return session.exec(select(DefinitionVersion).where(
        DefinitionVersion.process_id == process_id, DefinitionVersion.status == "active")).first()


def list_versions(session: Session) -> list[DefinitionVersion]:
    """Return every version, by process then version."""
    return list(session.exec(select(DefinitionVersion).order_by(
        DefinitionVersion.process_id, DefinitionVersion.version)).all())


def compiled(version: DefinitionVersion) -> CompiledProcess:
    """Return the shared compiled process of a stored version."""
    return process_from_spec_json(version.process_id, version.spec_json)


_COMPILED: dict[tuple[str, str], CompiledProcess] = {}


def compiled_by_id(session: Session, definition_id: int) -> CompiledProcess:
    """Return the compiled process of a version id, reading the stored spec only on a cache miss."""
    pid, digest = session.exec(select(DefinitionVersion.process_id, DefinitionVersion.content_hash)
                               .where(DefinitionVersion.id == definition_id)).one()
    process = _COMPILED.get((pid, digest))
    if process is None:
        spec_json = session.exec(select(DefinitionVersion.spec_json)
                                 .where(DefinitionVersion.id == definition_id)).one()
        process = _COMPILED[(pid, digest)] = process_from_spec_json(pid, spec_json)
    return process


# ---- instances --------------------------------------------------------------------------------
def create_instance(session: Session, version: DefinitionVersion, data: Mapping[str, Any] | None,
                    *, now: datetime, time_limit: float = 2.0, start_event: str | None = None,
                    start_payload: Any = None,
                    before_save: Callable[[runtime.Instance], Any] | None = None
                    ) -> tuple[WorkflowInstance, runtime.Instance]:
    """Start a workflow on a version and add its row (not committed); `start_event` names the
    timer start event whose time has come, when a timer starts it, or the signal start event a
    signal (with `start_payload`) passes. `before_save` sees the started instance before its
    state is written (what it notes in it is saved too)."""
    if version.status == "retired":
        raise InvalidBpmn([Problem(f"Version {version.version} of {version.process_id} is retired")])
    live = runtime.start(compiled(version), data, now=now, time_limit=time_limit,
                         start_event=start_event, start_payload=start_payload)
    if before_save is not None:
        before_save(live)
    row = WorkflowInstance(definition_id=version.id, created_at=now, **_state_values(live, now))
    session.add(row)
    session.flush()
    return row, live


def load_instance(session: Session, instance_id: int, *, time_limit: float = 2.0
                  ) -> tuple[WorkflowInstance, runtime.Instance]:
    """Load an instance row and rebuild its workflow (one query when the spec is cached)."""
    found = session.execute(_INSTANCE_AND_REF, {"instance_id": instance_id}).first()
    if found is None:
        raise EngineError(f"No workflow instance {instance_id}")
    row, ref = found[0], DefinitionRef(*found[1:])
    remember_ref(session, row.definition_id, ref)
    process = _COMPILED.get((ref.process_id, ref.content_hash)) \
        or compiled_by_id(session, row.definition_id)
    return row, runtime.load(process, row.state, time_limit=time_limit)


class DefinitionRef(NamedTuple):
    """The small, immutable columns of a definition version (not its XML or spec)."""

    process_id: str
    content_hash: str
    filename: str
    version: int


REF_COLUMNS = (DefinitionVersion.process_id, DefinitionVersion.content_hash,
                DefinitionVersion.filename, DefinitionVersion.version)
# Built once: every action on a case loads its instance (building costs about what running does).
_INSTANCE_AND_REF = (select(WorkflowInstance, *REF_COLUMNS)
                     .join(DefinitionVersion,
                           DefinitionVersion.id == WorkflowInstance.definition_id)
                     .where(WorkflowInstance.id == sa.bindparam("instance_id")))
_REFS = "caseflow_definition_refs"


def remember_ref(session: Session, definition_id: int, ref: DefinitionRef) -> None:
    """Note a version's small columns, read along with something else, for this session."""
    session.info.setdefault(_REFS, {})[definition_id] = ref


@sa.event.listens_for(Session, "after_rollback")
def _forget_refs(session) -> None:
    """A rolled-back version may not exist (its id may come back with other content)."""
    session.info.pop(_REFS, None)


def definition_ref(session: Session, definition_id: int) -> DefinitionRef:
    """Return a version's process id, content hash, file name and number; read once per session
    (these columns never change, and loading an instance already read them)."""
    ref = session.info.get(_REFS, {}).get(definition_id)
    if ref is None:
        found = session.exec(select(*REF_COLUMNS)
                             .where(DefinitionVersion.id == definition_id)).one()
        ref = DefinitionRef(*found)
        remember_ref(session, definition_id, ref)
    return ref


def compiled_by_ref(session: Session, definition_id: int) -> CompiledProcess:
    """Return the compiled process of a version id, with no query once this session knows it."""
    ref = definition_ref(session, definition_id)
    process = _COMPILED.get((ref.process_id, ref.content_hash))
    return process if process is not None else compiled_by_id(session, definition_id)


def save_instance(session: Session, row: WorkflowInstance, live: runtime.Instance, *,
                  now: datetime) -> None:
    """Write the workflow state back if nobody else did in between; raise StaleState otherwise."""
    loaded_version = row.row_version
    values = _state_values(live, now)
    with session.no_autoflush:  # the caller's pending rows go in its one flush at commit
        # The SET clause is the parameters' column names (a Core UPDATE built once).
        result = session.execute(_SAVE, {**values, "row_version": loaded_version + 1,
                                         "instance_id": row.id, "seen": loaded_version})
    if result.rowcount != 1:
        raise StaleState(f"Workflow instance {row.id} was changed by someone else; reload and retry")
    # Mirror the written values on the loaded object without marking it dirty (no second UPDATE).
    for key, value in {**values, "row_version": loaded_version + 1}.items():
        set_committed_value(row, key, value)


_INSTANCES = WorkflowInstance.__table__
_SAVE = _INSTANCES.update().where(_INSTANCES.c.id == sa.bindparam("instance_id"),
                                  _INSTANCES.c.row_version == sa.bindparam("seen"))


def _state_values(live: runtime.Instance, now: datetime) -> dict:
    status = "cancelled" if live.is_cancelled else "completed" if live.is_completed else "running"
    state = live.dump()
    live.saved_data_values = data_values(state)  # the search index reads them (note_states)
    return {"state": state, "serializer_version": SERIALIZER_VERSION, "status": status,
            "next_timer_due": live.next_timer_due(), "updated_at": now,
            "data_digest": values_digest(live.saved_data_values)}


def due_instances(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Return ids of running instances whose next timer is due, claimed with SKIP LOCKED where possible."""
    query = (select(WorkflowInstance.id)
             .where(WorkflowInstance.status == "running", WorkflowInstance.next_timer_due <= now)
             .order_by(WorkflowInstance.next_timer_due).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query).all())


def move_instance(session: Session, row: WorkflowInstance, definition_id: int) -> None:
    """Point an instance at another version of its process (version migration); save_instance
    then writes the migrated state under its usual row_version check."""
    session.execute(sa.update(WorkflowInstance).where(WorkflowInstance.id == row.id)
                    .values(definition_id=definition_id)
                    .execution_options(synchronize_session=False))
    set_committed_value(row, "definition_id", definition_id)
