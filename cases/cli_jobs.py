"""`caseflow` commands of the job executor: worker, timers, signal, incidents.

Imported at the end of cases/cli.py to register on its app."""
from __future__ import annotations

import json
import signal as os_signal
from typing import Annotated, Optional

import typer

from engine.clock import utcnow

from .cli import _settings, app
from .db import make_engine, session_scope

incidents_app = typer.Typer(help="Failures of the model at a case's step, for supervisors.",
                            no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")


@app.command()
def worker(once: Annotated[bool, typer.Option("--once", help="Run what is due now, then exit.")] = False,
           poll: Annotated[float, typer.Option(help="Seconds between looks when idle.")] = 1.0) -> None:
    """Run the job executor (timers, SLA sweeps, signal deliveries); start as many as you like."""
    from .jobs.executor import from_settings

    settings = _settings()
    executor = from_settings(make_engine(settings.database_url), settings)
    if once:
        executor.ensure_periodic()
        r = executor.run_until_idle()
        typer.echo(f"ran {r.done} job(s), {r.failed} failed attempt(s), {r.retried_later} left "
                   f"for later, {len(r.incidents)} incident(s) opened")
        return
    from logging.config import dictConfig

    from .logs import logging_config

    dictConfig(logging_config(settings.log_format, settings.log_level))
    for sig in (os_signal.SIGTERM, os_signal.SIGINT):
        os_signal.signal(sig, lambda *_: executor.stop(timeout=0))
    typer.echo(f"Job worker {executor.owner} running; stop with Ctrl-C.")
    executor.loop(poll=poll)
    typer.echo("Job worker stopped.")


@app.command()
def timers() -> None:
    """Fire the timers due now, once (the job executor in `caseflow serve` does this by itself)."""
    from .timers import advance_due_timers

    settings = _settings()
    with session_scope(make_engine(settings.database_url)) as session:
        moved = advance_due_timers(session, now=utcnow(), time_limit=settings.script_time_limit)
    typer.echo(f"{utcnow().isoformat(timespec='seconds')} fired the due timers of {moved} case(s)")


@app.command("signal")
def send_signal(name: str,
                payload: Annotated[Optional[str], typer.Option(help="JSON given to the catching cases.")] = None
                ) -> None:
    """Broadcast a signal to every open case waiting for it (e.g. mass_outage_cleared)."""
    from .errors import CaseError
    from .subscriptions.signals import broadcast
    from .timers import SYSTEM

    try:
        data = json.loads(payload) if payload else None
    except json.JSONDecodeError as err:
        typer.echo(f"--payload is not JSON: {err.msg} at character {err.pos}", err=True)
        raise typer.Exit(2) from None
    with session_scope(make_engine(_settings().database_url)) as session:
        try:
            cases = broadcast(session, actor=SYSTEM, now=utcnow(), name=name, payload=data)
        except CaseError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"Signal '{name}' goes to {len(cases)} waiting case(s)"
               + (f": {', '.join(map(str, cases))}" if cases else ""))


@incidents_app.command("list")
def incidents_list(process: Annotated[Optional[str], typer.Option(help="Only this process.")] = None,
                   all_states: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False
                   ) -> None:
    """List open incidents (newest first)."""
    from .incidents.service import search

    with session_scope(make_engine(_settings().database_url)) as session:
        rows, total = search(session, state=None if all_states else "open", process_id=process,
                             limit=200)
    if not rows:
        typer.echo("No incidents.")
    for i in rows:
        typer.echo(f"#{i.id:<5} case {i.case_id:<6} {i.state:8} {i.process_id}/{i.element_id or '-'}"
                   f"  x{i.attempts}  {i.last_failed_at:%Y-%m-%d %H:%M}  {i.error[:80]}")
    if total > len(rows):
        typer.echo(f"... and {total - len(rows)} more")


def _decide(incident_id: int, note: Optional[str], retry: bool) -> None:
    from .errors import CaseError
    from .incidents import service
    from .timers import SYSTEM

    with session_scope(make_engine(_settings().database_url)) as session:
        try:
            if retry:
                service.retry(session, actor=SYSTEM, now=utcnow(), incident_id=incident_id, note=note)
            else:
                service.resolve(session, actor=SYSTEM, now=utcnow(), incident_id=incident_id,
                                note=note or "")
        except CaseError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"Incident {incident_id} {'will be retried now' if retry else 'resolved'}.")


@incidents_app.command("retry")
def incidents_retry(incident_id: int, note: Annotated[Optional[str], typer.Option()] = None) -> None:
    """Run the failed job of an incident again (after fixing the data or the model)."""
    _decide(incident_id, note, retry=True)


@incidents_app.command("resolve")
def incidents_resolve(incident_id: int, note: Annotated[str, typer.Option(help="What was done.")]) -> None:
    """Close an incident with a note."""
    _decide(incident_id, note, retry=False)
