"""Deploying and listing process definitions, and the designer's upload, activate, retire and compare
(service layer: one commit per action)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import dmn_store, store
from engine.compare import compare_bpmn
from engine.errors import InvalidBpmn, Problem
from engine.store import DefinitionVersion
from engine.validate import validate_bpmn
from engine.definitions import deployment_hash
from engine.xmlsafe import MAX_BYTES, parse_bpmn_xml, process_ids

from .case_models import Case
from .definition_files import Library, store_supporting_files
from .errors import NotFound

log = logging.getLogger("caseflow.definitions")

@dataclass(frozen=True)
class DeployResult:
    """What a deployment did: the versions it touched and whether each was new."""

    versions: list[DefinitionVersion]
    new: list[bool]


def deploy_file(session: Session, data: bytes, *, filename: str, actor: str | None, now: datetime,
                activate: bool = False, library: Library | None = None) -> DeployResult:
    """Validate and store a BPMN file's processes as versions; commit once.

    Its business rule tasks and Camunda forms use the stored decisions and forms (newest
    versions), or those of `library`; the versions used are pinned to the new process versions.
    """
    result = _deploy(session, data, filename=filename, actor=actor, now=now, activate=activate,
                     library=library or Library.stored(session))
    session.commit()
    return result


def _deploy(session: Session, data: bytes, *, filename: str, actor: str | None, now: datetime,
            activate: bool, library: Library) -> DeployResult:
    before = {(v.process_id, v.content_hash) for v in store.list_versions(session)}
    versions = store.deploy(session, data, filename=filename, uploaded_by=actor, now=now,
                            activate=activate, decisions=library.decisions, forms=library.forms)
    used = library.persist(session, library.used_by(data, filename), actor=actor, now=now)
    for version in versions:
        dmn_store.pin(session, version.id, used)
    _sync_timer_starts(session, now)
    new = [(v.process_id, v.content_hash) not in before for v in versions]
    for version, fresh in zip(versions, new):
        log.info("%s %s v%s from %s by %s: %s", "deployed" if fresh else "deployed again",
                 version.process_id, version.version, filename, actor, version.status)
    return DeployResult(versions, new)


def deploy_directory(session: Session, directory: Path, *, actor: str | None, now: datetime,
                     activate: bool = True) -> list[DeployResult]:
    """Deploy every .bpmn file in a directory, called processes first where files depend on each
    other, with the directory's .dmn decision tables and .form forms."""
    supporting = sorted([*directory.glob("*.dmn"), *directory.glob("*.form")])
    if supporting:
        problems = store_supporting_files(session, [(p.name, p.read_bytes()) for p in supporting],
                                          actor=actor, now=now)
        if problems:
            raise InvalidBpmn(problems)
        session.commit()
    results = []
    pending = sorted(directory.glob("*.bpmn"))
    for _ in range(len(pending) + 1):
        failed = []
        for path in pending:
            try:
                results.append(deploy_file(session, path.read_bytes(), filename=path.name,
                                           actor=actor, now=now, activate=activate))
            except Exception:
                session.rollback()
                failed.append(path)
        if not failed or len(failed) == len(pending):
            pending = failed
            break
        pending = failed
    if pending:
        # Deploy once more without catching, so the caller sees the real problem.
        deploy_file(session, pending[0].read_bytes(), filename=pending[0].name, actor=actor,
                    now=now, activate=activate)
    return results


def list_definitions(session: Session) -> list[DefinitionVersion]:
    """Return every definition version, by process id then version."""
    return store.list_versions(session)


# ---- the designer's workspace (issue 6) ------------------------------------------------------
DESIGNER_ROLES = ("designer", "admin")


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: refused with problems, or stored (or recognised) as versions."""

    problems: list  # blocking engine.errors.Problem: validation errors or a process id collision
    warnings: list  # problems that do not block
    processes: list[str]
    versions: list[DefinitionVersion]
    new: list[bool]

    @property
    def stored(self) -> bool:
        return bool(self.versions)


def upload_file(session: Session, data: bytes, *, filename: str, actor: str, now: datetime,
                max_bytes: int | None = None) -> UploadResult:
    """Validate an uploaded file and store its processes as draft versions; commit once.

    Nothing is stored when the file has an error or one of its processes has the id of a process
    that another file defines; the same bytes again give the existing versions (new=False).
    """
    library = Library.stored(session)
    problems, warnings = upload_problems(session, data, filename=filename, max_bytes=max_bytes,
                                         library=library)
    processes = _process_ids_or_none(data, filename)
    if problems:
        return UploadResult(problems, warnings, processes, [], [])
    try:
        result = deploy_file(session, data, filename=filename, actor=actor, now=now,
                             library=library)
    except InvalidBpmn as err:
        session.rollback()
        return UploadResult(list(err.problems), warnings, processes, [], [])
    return UploadResult([], warnings, processes, result.versions, result.new)


def _process_ids_or_none(data: bytes, filename: str) -> list[str]:
    try:
        return process_ids(data, filename)
    except InvalidBpmn:
        return []


def upload_problems(session: Session, data: bytes, *, filename: str, max_bytes: int | None,
                    library: Library) -> tuple[list, list]:
    """Return (errors, warnings) of an uploaded BPMN file, with the decisions and forms of
    `library`; a process id another file already uses is an error too."""
    try:
        parse_bpmn_xml(data, filename, max_bytes=max_bytes or MAX_BYTES)
    except InvalidBpmn as err:
        return list(err.problems), []
    active = {v.process_id for v in store.list_versions(session) if v.status == "active"}
    report = validate_bpmn(data, filename, available_processes=active,
                           decisions=library.decisions, forms=library.forms)
    warnings = [p for p in report.problems if p.severity != "error"]
    if not report.valid:
        return report.errors, warnings
    digest = deployment_hash(data, filename, library.decisions, library.forms)
    known = {v.process_id for v in store.list_versions(session) if v.content_hash == digest}
    collisions = process_id_collisions(session, [p for p in report.processes if p not in known],
                                       filename=filename)
    return collisions, warnings


def process_id_collisions(session: Session, process_ids, *, filename: str) -> list:
    """Problems for processes whose id is already taken by a process from a differently named file.

    A new version of a process is uploaded under the file name of its earlier versions; the same
    id from another file is almost always a modeler default (Process_1) reused by accident.
    """
    problems = []
    for pid in process_ids:
        latest = session.exec(select(DefinitionVersion).where(DefinitionVersion.process_id == pid)
                              .order_by(DefinitionVersion.version.desc())).first()
        if latest is not None and latest.filename != filename:
            problems.append(Problem(
                f"The process id '{pid}' is already used by {latest.filename} (v{latest.version}"
                f"{' ' + repr(latest.name) if latest.name else ''}). If this file is a new version "
                f"of that process, upload it under the name {latest.filename}; otherwise give the "
                "process its own id in your modeler.", element_id=pid))
    return problems


def _version(session: Session, definition_id: int) -> DefinitionVersion:
    version = session.get(DefinitionVersion, definition_id)
    if version is None:
        raise NotFound(f"No definition version {definition_id}")
    return version


def activate(session: Session, *, actor: str, now: datetime, definition_id: int) -> DefinitionVersion:
    """Make a version the one new cases start on (the active one before is retired). Commit once.

    Running cases stay on the version they started on.
    """
    version = _version(session, definition_id)
    store.activate_version(session, version, now=now, actor=actor)
    _sync_timer_starts(session, now)
    session.commit()
    log.info("activated %s v%s by %s", version.process_id, version.version, actor)
    return version


def retire(session: Session, *, actor: str, now: datetime, definition_id: int) -> DefinitionVersion:
    """Retire a version: no new case starts on it; running cases go on. Commit once."""
    version = _version(session, definition_id)
    store.retire_version(session, version, now=now, actor=actor)
    _sync_timer_starts(session, now)
    session.commit()
    log.info("retired %s v%s by %s", version.process_id, version.version, actor)
    return version


def _sync_timer_starts(session: Session, now: datetime) -> None:
    """Versions that became active or retired start (or stop) opening cases by their timers."""
    from .jobs.timer_starts import sync

    session.flush()
    sync(session, now=now)


def find_version(session: Session, process_id: str, version: int) -> DefinitionVersion:
    """Return a process's version by number or raise NotFound."""


    found = session.exec(select(DefinitionVersion).where(DefinitionVersion.process_id == process_id,
                                                         DefinitionVersion.version == version)).first()
    if found is None:
        raise NotFound(f"No version {version} of process '{process_id}'")
    return found


def case_counts(session: Session) -> dict[int, tuple[int, int]]:
    """Map definition id -> (cases, open cases) in one grouped query."""


    running = sa.func.sum(sa.case((Case.status.in_(("open", "on_hold")), 1), else_=0))
    rows = session.exec(select(Case.definition_id, sa.func.count(Case.id), running)
                        .group_by(Case.definition_id)).all()
    return {did: (int(total), int(open_ or 0)) for did, total, open_ in rows}


def get_version(session: Session, definition_id: int) -> DefinitionVersion:
    """Return a definition version or raise NotFound."""
    return _version(session, definition_id)


def compare_versions(session: Session, *, left_id: int, right_id: int):
    """Return (left, right, engine.compare.Comparison) of two stored versions."""
    left, right = _version(session, left_id), _version(session, right_id)
    comparison = compare_bpmn(left.bpmn_xml.encode("utf-8"), right.bpmn_xml.encode("utf-8"),
                              left_name=left.filename, right_name=right.filename)
    return left, right, comparison


def refusal(message: str):
    """A problem with the whole upload (no element), in the validator's shape."""
    return Problem(message)


def preview_facts(data: bytes) -> tuple[bool, bool]:
    """Return (readable as BPMN, carries diagram layout) for a refused upload's preview."""
    try:
        root = parse_bpmn_xml(data)
    except InvalidBpmn:
        return False, False
    return True, any(isinstance(el.tag, str) and el.tag.endswith("}BPMNShape") for el in root.iter())
