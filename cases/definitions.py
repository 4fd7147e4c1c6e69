"""Deploying and listing process definitions (service layer: one commit per action)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from engine import store
from engine.store import DefinitionVersion


@dataclass(frozen=True)
class DeployResult:
    """What a deployment did: the versions it touched and whether each was new."""

    versions: list[DefinitionVersion]
    new: list[bool]


def deploy_file(session: Session, data: bytes, *, filename: str, actor: str | None, now: datetime,
                activate: bool = False) -> DeployResult:
    """Validate and store a BPMN file's processes as versions; commit once."""
    before = {(v.process_id, v.content_hash) for v in store.list_versions(session)}
    versions = store.deploy(session, data, filename=filename, uploaded_by=actor, now=now,
                            activate=activate)
    session.commit()
    new = [(v.process_id, v.content_hash) not in before for v in versions]
    return DeployResult(versions, new)


def deploy_directory(session: Session, directory: Path, *, actor: str | None, now: datetime,
                     activate: bool = True) -> list[DeployResult]:
    """Deploy every .bpmn file in a directory, called processes first where files depend on each other."""
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
