"""`caseflow` commands of the designer area; imported at the end of cases/cli.py to register on its app.

upload (draft, with the web form's checks), activate, retire, compare, migrate-cases (dry run or
run). Exit codes: 0 done, 1 refused or partly failed, 2 nothing found by that name.
"""
from __future__ import annotations

from pathlib import Path

import typer

from engine.clock import utcnow

from .cli import _print_problems, _settings, app
from .db import make_engine, session_scope


def _session():
    return session_scope(make_engine(_settings().database_url))


def _find(session, process: str, version: int):
    from .definitions import find_version
    from .errors import NotFound

    try:
        return find_version(session, process, version)
    except NotFound as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


def _operator(session, username: str):
    """The user a migration is recorded under: an existing designer/admin, or the CLI operator."""
    from sqlmodel import select

    from .users import User

    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        return User(username=username, display_name=f"{username} (command line)", role="admin",
                    password_hash="!", created_at=utcnow())
    if user.role not in ("designer", "admin"):
        typer.echo(f"{username} is a {user.role}; only designers and admins move cases.", err=True)
        raise typer.Exit(1)
    return user


@app.command()
def upload(file: Path, actor: str = typer.Option("cli", help="Who uploads (recorded).")) -> None:
    """Check a BPMN file and store it as a draft version (as the designer's upload form does)."""
    from .definitions import upload_file

    if not file.is_file():
        typer.echo(f"No such file: {file}", err=True)
        raise typer.Exit(2)
    with _session() as session:
        result = upload_file(session, file.read_bytes(), filename=file.name, actor=actor,
                             now=utcnow(), max_bytes=_settings().max_upload_bytes)
        if not result.stored:
            typer.echo(f"{file.name}: not stored")
            _print_problems(result.problems)
            raise typer.Exit(1)
        for version, new in zip(result.versions, result.new):
            what = "uploaded as draft" if new else "already uploaded as"
            typer.echo(f"{file.name}: {what} {version.process_id} v{version.version} ({version.status})")


@app.command()
def activate(process: str, version: int,
             actor: str = typer.Option("cli", help="Who deploys it (recorded).")) -> None:
    """Deploy a stored version: new cases start on it; running cases stay on theirs."""
    from .definitions import activate as activate_version

    with _session() as session:
        found = _find(session, process, version)
        activate_version(session, actor=actor, now=utcnow(), definition_id=found.id)
        typer.echo(f"{process} v{version} is active; running cases stay on their version.")


@app.command()
def retire(process: str, version: int,
           actor: str = typer.Option("cli", help="Who retires it (recorded).")) -> None:
    """Retire a version: no new case starts on it; running cases go on."""
    from .definitions import retire as retire_version

    with _session() as session:
        found = _find(session, process, version)
        was_active = found.status == "active"
        retire_version(session, actor=actor, now=utcnow(), definition_id=found.id)
        typer.echo(f"{process} v{version} is retired; running cases on it go on.")
        if was_active:
            typer.echo(f"No version of {process} is active now: new cases cannot start.")


@app.command()
def compare(process: str, left: int, right: int) -> None:
    """List the elements added, removed and changed between two versions of a process."""
    from engine.compare import compare_bpmn

    with _session() as session:
        a, b = _find(session, process, left), _find(session, process, right)
        result = compare_bpmn(a.bpmn_xml.encode("utf-8"), b.bpmn_xml.encode("utf-8"))
    if result.identical:
        typer.echo(f"{process} v{left} and v{right}: no element differs.")
        return
    typer.echo(f"{process} v{left} -> v{right}: {len(result.added)} added, "
               f"{len(result.removed)} removed, {len(result.changed)} changed")
    for diff in (*result.added, *result.removed, *result.changed):
        typer.echo(f"  {diff.status:8} {diff.type:22} {diff.label}")
        for change in diff.changes:
            typer.echo(f"           {change.describe()}")


@app.command("migrate-cases")
def migrate_cases(process: str,
                  from_version: int = typer.Option(..., "--from", help="Version the cases run on."),
                  to_version: int = typer.Option(..., "--to", help="Version to move them to."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would happen."),
                  case: list[int] | None = typer.Option(None, "--case", help="Only these cases."),  # noqa: B008
                  actor: str = typer.Option("cli", help="Designer or admin recorded as mover.")
                  ) -> None:
    """Move running cases to another version (dry run first: which can move and why not)."""
    from . import version_migration as vm
    from .errors import InvalidInput

    with _session() as session:
        source, target = _find(session, process, from_version), _find(session, process, to_version)
        try:
            if dry_run:
                plan = vm.dry_run(session, from_id=source.id, to_id=target.id, now=utcnow(),
                                  case_ids=case or None)
            else:
                results = vm.migrate(session, actor=_operator(session, actor), now=utcnow(),
                                     from_id=source.id, to_id=target.id, case_ids=case or None,
                                     lane_teams=_settings().lane_teams or None)
        except InvalidInput as err:
            typer.echo(" ".join(err.errors.values()), err=True)
            raise typer.Exit(1) from None
    if dry_run:
        typer.echo(f"Dry run {process} v{from_version} -> v{to_version}: "
                   f"{len(plan.movable)} of {len(plan.cases)} open case(s) can move")
        for check in plan.cases:
            verdict = "can move" if check.can_move else "cannot move: " + "; ".join(check.reasons)
            typer.echo(f"  case {check.case_id}: {verdict}")
        for warning in plan.warnings:
            typer.echo(f"  warning: {warning.describe()}")
        return
    moved = sum(r.moved for r in results)
    typer.echo(f"{process} v{from_version} -> v{to_version}: {moved} of {len(results)} case(s) moved")
    for result in results:
        typer.echo(f"  case {result.case_id}: " + ("moved" if result.moved else f"not moved: {result.reason}"))
    if moved < len(results):
        raise typer.Exit(1)
