"""The `caseflow` command: validate, deploy, list definitions, migrate, seed the demo, serve."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from engine.clock import utcnow
from engine.errors import InvalidBpmn

from .cli_errors import CaseflowGroup, SettingsInvalid, settings_problems
from .db import make_engine, session_scope, upgrade
from .settings import Settings

app = typer.Typer(help="Caseflow: BPMN processes with adaptive case handling.", no_args_is_help=True,
                  cls=CaseflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="Check the audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
tokens_app = typer.Typer(help="Manage API tokens for integrators.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

DEMO_USERS = [
    ("agent", "agent", "Alex Agent", ["Customer Care", "Billing", "Retention", "Customer Relations"]),
    ("field", "agent", "Fran Field", ["Field Operations", "Network Operations"]),
    ("designer", "designer", "Dana Designer", []),
    ("supervisor", "supervisor", "Sam Supervisor", ["Supervisors", "Customer Care"]),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"caseflow {version('caseflow')}")
        raise typer.Exit()


@app.callback()
def _main(show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                            help="Print the version and exit.")) -> None:
    """Caseflow: BPMN processes with adaptive case handling."""


def _settings() -> Settings:
    """Return the Settings; bad configuration ends the command with one line per problem."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except (ValidationError, SettingsError) as err:
        raise SettingsInvalid(settings_problems(err)) from None


def _print_problems(problems) -> None:
    for p in problems:
        where = " ".join(x for x in (
            p.element_id and f"[{p.element_id}{' ' + repr(p.element_name) if p.element_name else ''}]",
            p.line and f"line {p.line}") if x)
        typer.echo(f"  {p.severity}: {where + ': ' if where else ''}{p.message}")


@app.command()
def validate(file: Path, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Check a BPMN file; exit 0 when valid, 1 with every problem listed."""
    from engine.validate import validate_bpmn

    if not file.is_file():
        typer.echo(f"No such file: {file}", err=True)
        raise typer.Exit(2)
    if file.suffix.lower() in (".dmn", ".form"):
        from .definition_files import supporting_problems

        problems = supporting_problems([(file.name, file.read_bytes())])
        typer.echo(f"{file.name}: {'NOT valid' if problems else 'valid'}")
        _print_problems(problems)
        raise typer.Exit(1 if problems else 0)
    report = validate_bpmn(file.read_bytes(), file.name)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        state = "valid" if report.valid else "NOT valid"
        typer.echo(f"{file.name}: {state}; processes: {', '.join(report.processes) or 'none'}")
        _print_problems(report.problems)
    raise typer.Exit(0 if report.valid else 1)


@app.command()
def deploy(files: list[Path],
           activate: bool = typer.Option(True, "--activate/--draft",
                                         help="Make them the active versions (default), or only "
                                              "store drafts (as `caseflow upload` does)."),
           actor: str = typer.Option("cli", help="Who deploys (recorded).")) -> None:
    """Deploy BPMN files (with their .dmn and .form files): new cases start on them (the same bytes
    again are the same version).

    A retired version's bytes do not bring it back while another version is active; that takes
    `caseflow activate PROCESS VERSION`.
    """
    from engine.store import content_hash, list_versions
    from engine.xmlsafe import process_ids

    from .definitions import deploy_file, process_id_collisions

    from .definition_files import kind_of, store_supporting_files

    engine = make_engine(_settings().database_url)
    failed = False
    with session_scope(engine) as session:
        supporting = [f for f in files if kind_of(f.name) in ("dmn", "form")]
        if supporting:  # decision tables and forms first, so the processes find them
            problems = store_supporting_files(session, [(f.name, f.read_bytes()) for f in supporting],
                                              actor=actor, now=utcnow())
            if problems:
                typer.echo(", ".join(f.name for f in supporting) + ": not stored")
                _print_problems(problems)
                raise typer.Exit(1)
            session.commit()
            typer.echo(", ".join(f.name for f in supporting) + ": stored")
        for file in [f for f in files if f not in supporting]:
            data = file.read_bytes()
            try:
                same_bytes = {v.process_id for v in list_versions(session)
                              if v.content_hash == content_hash(data)}
                clashes = process_id_collisions(
                    session, [p for p in process_ids(data, file.name) if p not in same_bytes],
                    filename=file.name)
                if clashes:
                    raise InvalidBpmn(clashes)
                result = deploy_file(session, data, filename=file.name, actor=actor,
                                     now=utcnow(), activate=activate)
            except InvalidBpmn as err:
                failed = True
                typer.echo(f"{file.name}: not deployed")
                _print_problems(err.problems)
                continue
            for version, new in zip(result.versions, result.new):
                what = "deployed" if new else "already deployed as"
                typer.echo(f"{file.name}: {what} {version.process_id} v{version.version} ({version.status})")
    raise typer.Exit(1 if failed else 0)


@app.command()
def definitions() -> None:
    """List deployed definitions and their versions."""
    from .definitions import list_definitions

    with session_scope(make_engine(_settings().database_url)) as session:
        rows = list_definitions(session)
    if not rows:
        typer.echo("No definitions deployed.")
    for v in rows:
        typer.echo(f"{v.process_id:30} v{v.version:<3} {v.status:8} {v.content_hash[:12]}  {v.name or ''}")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    from .reason_codes import sync_reason_codes

    settings = _settings()
    before, after = upgrade(settings.database_url)
    with session_scope(make_engine(settings.database_url)) as session:
        sync_reason_codes(session, path=settings.bpmn_dir / "reason_codes.toml")
    if before is None:
        typer.echo(f"Created the database at schema {after}: {settings.database_url}")
    elif before != after:
        typer.echo(f"Upgraded the database from schema {before} to {after}: {settings.database_url}")
    else:
        typer.echo(f"The database is up to date (schema {after}): {settings.database_url}")


@app.command()
def demo() -> None:
    """Migrate, deploy every process in bpmn/ and create demo users (printing their passwords)."""
    from .definitions import deploy_directory
    from .reason_codes import sync_reason_codes
    from .auth.passwords import generate_password
    from .users import create_user, list_users, set_password

    settings = _settings()
    if not settings.demo_mode:
        typer.echo("Demo users are only created with CASEFLOW_DEMO_MODE=true.", err=True)
        raise typer.Exit(1)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        results = deploy_directory(session, settings.bpmn_dir, actor="demo", now=utcnow())
        deployed = sorted({v.process_id for r in results for v in r.versions})
        typer.echo(f"Deployed from {settings.bpmn_dir}: {', '.join(deployed) or 'nothing'}")
        sync_reason_codes(session, path=settings.bpmn_dir / "reason_codes.toml")
        existing = {u.username: u for u in list_users(session)}
        typer.echo("Demo users (new passwords on every start of the demo):")
        for username, role, name, teams in DEMO_USERS:
            password = generate_password()
            if username in existing:
                set_password(session, existing[username], password, now=utcnow())
                existing[username].teams = ",".join(teams)  # keep demo teams in step with the lanes
            else:
                create_user(session, username=username, password=password, role=role,
                            now=utcnow(), display_name=name, teams=teams)
            typer.echo(f"  {username:10} ({role:10}) password: {password}")
        session.commit()
        from .demo_cases import seed_demo_cases

        opened = seed_demo_cases(session, now=utcnow(), lane_teams=settings.lane_teams)
        if opened:
            typer.echo(f"Demo cases opened: {', '.join(map(str, opened))} "
                       "(on the worklist, http://127.0.0.1:8000/work, once the server runs)")


@app.command()
def sla(every: float = typer.Option(0, help="Repeat every N seconds (0: one sweep and exit).")) -> None:
    """Mark steps and promises at risk or breached (once each) and escalate breaches to supervisors."""
    import time

    from .sla_sweep import sweep

    settings = _settings()
    engine = make_engine(settings.database_url)
    while True:
        with session_scope(engine) as session:
            r = sweep(session, now=utcnow(), share=settings.sla_at_risk)
        typer.echo(f"{utcnow().isoformat(timespec='seconds')} at risk {r.at_risk}, breached {r.breached}, "
                   f"escalated {r.escalated}, left for the next round {r.skipped_cases}")
        if every <= 0:
            return
        time.sleep(every)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False,
          migrate_first: bool = typer.Option(False, "--migrate",
                                             help="Migrate the database first if it is behind."),
          workers: int = typer.Option(1, min=1, help="Server processes (one per core; each also "
                                      "runs the job executor unless CASEFLOW_RUN_JOBS=false).")
          ) -> None:
    """Serve the web app and the JSON API (refuses a database that is not migrated)."""
    import uvicorn

    from .logs import logging_config

    if reload and workers > 1:
        typer.echo("--reload runs one process; leave out --workers or --reload.", err=True)
        raise typer.Exit(2)
    settings = _settings()  # fail early with a clear message on bad configuration
    _ready_schema(settings, migrate_first)
    uvicorn.run("web.app:app_from_env", factory=True, host=host, port=port, reload=reload,
                log_config=logging_config(settings.log_format, settings.log_level),
                access_log=False, workers=workers)


def _ready_schema(settings: Settings, migrate_first: bool) -> None:
    """Refuse to serve a database whose schema is not at head, or migrate it with --migrate."""
    from .db import schema_status

    engine = make_engine(settings.database_url)
    try:
        current, head = schema_status(engine)
    finally:
        engine.dispose()
    if current == head:
        return
    if not migrate_first:
        at = ", ".join(sorted(current)) or "no Caseflow tables"
        typer.echo(f"Caseflow: the database is not migrated (it has {at}; this Caseflow needs "
                   f"{', '.join(sorted(head))}): run `caseflow migrate`, or `caseflow serve "
                   "--migrate`.", err=True)
        raise typer.Exit(3)
    migrate()


@users_app.command("create")
def users_create(username: str, role: str = typer.Option(..., help="agent, designer, supervisor or admin"),
                 teams: Optional[str] = typer.Option(None, help="Comma-separated teams."),
                 name: Optional[str] = None,
                 password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)
                 ) -> None:
    """Create a user."""
    from .errors import CaseError
    from .users import create_user

    with session_scope(make_engine(_settings().database_url)) as session:
        try:
            create_user(session, username=username, password=password, role=role, now=utcnow(),
                        display_name=name, teams=[t.strip() for t in (teams or "").split(",") if t.strip()])
            session.commit()
        except CaseError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
    typer.echo(f"Created {username} ({role})")


@users_app.command("list")
def users_list() -> None:
    """List users with their roles and teams."""
    from .users import list_users

    with session_scope(make_engine(_settings().database_url)) as session:
        for u in list_users(session):
            typer.echo(f"{u.username:16} {u.role:10} {u.teams}")


@users_app.command("password")
def users_password(username: str,
                   password: str = typer.Option(..., prompt="New password", hide_input=True,
                                                confirmation_prompt=True)) -> None:
    """Set a user's password; every session of the user is signed out."""
    from sqlmodel import select

    from .errors import CaseError
    from .users import User, set_password

    with session_scope(make_engine(_settings().database_url)) as session:
        user = session.exec(select(User).where(User.username == username.strip().lower())).first()
        if user is None:
            typer.echo(f"No user '{username}'", err=True)
            raise typer.Exit(1)
        try:
            set_password(session, user, password, now=utcnow())
        except CaseError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1)
        session.commit()
    typer.echo(f"Password of {user.username} changed; their sessions are signed out.")


@tokens_app.command("create")
def tokens_create(username: str, name: str = typer.Option(..., help="The system that will use it.")
                  ) -> None:
    """Create an API token acting as USERNAME; the secret is printed once."""
    from sqlmodel import select

    from .api_tokens import issue_token
    from .users import User

    with session_scope(make_engine(_settings().database_url)) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            typer.echo(f"No active user '{username}'", err=True)
            raise typer.Exit(1)
        token, secret = issue_token(session, user=user, name=name, now=utcnow())
        typer.echo(f"Token {token.id} for {username} ({user.role}), '{token.name}'. "
                   "Keep this secret; it is not shown again:")
        typer.echo(secret)


@tokens_app.command("list")
def tokens_list() -> None:
    """List API tokens (never their secrets)."""
    from .api_tokens import list_tokens

    with session_scope(make_engine(_settings().database_url)) as session:
        for token, user in list_tokens(session):
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            typer.echo(f"{token.id:4} {user.username:16} {token.name:24} {state:18} last used {used}")


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Stop an API token for good."""
    from .api_tokens import revoke_token
    from .errors import NotFound

    with session_scope(make_engine(_settings().database_url)) as session:
        try:
            revoke_token(session, token_id=token_id, now=utcnow())
        except NotFound as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"Token {token_id} revoked.")


@audit_app.command("verify")
def audit_verify(case: Optional[int] = typer.Option(None, help="Check one case (default: every case).")
                 ) -> None:
    """Check the keyed chain of case events; exit 1 naming each broken case and event and why."""
    from .audit import check

    with session_scope(make_engine(_settings().database_url)) as session:
        report = check(session, case)
    for finding in report.findings:
        typer.echo(str(finding))
    mismatched = sum(1 for f in report.findings if f.message.endswith("does not match its hash"))
    if report.events and mismatched == report.events:
        typer.echo("No event matches its hash: is CASEFLOW_AUDIT_KEY the key these events were "
                   "written with?")
    if report.findings:
        raise typer.Exit(1)
    scope = "" if case is None else f" of case {case}"
    typer.echo(f"Audit log{scope} intact: {report.events:,} events in {report.cases:,} case(s), "
               "chained under the audit key.")


@audit_app.command("rekey")
def audit_rekey(case: Optional[int] = typer.Option(None, help="Re-chain one case (default: all).")
                ) -> None:
    """Re-chain events written before the audit key under it, once; edited chains are refused."""
    from .audit import rekey

    with session_scope(make_engine(_settings().database_url)) as session:
        report = rekey(session, case)
    for finding in report.refused:
        typer.echo(f"not rekeyed: {finding}")
    typer.echo(f"Re-chained {report.events:,} events in {report.cases:,} case(s) under the audit "
               "key.")
    if report.refused:
        raise typer.Exit(1)


# Commands of the designer, insights, jobs and webhooks areas (cli_*.py) register on `app`.
from . import cli_designer, cli_insights, cli_jobs, cli_webhooks  # noqa: E402,F401

if __name__ == "__main__":
    app()
