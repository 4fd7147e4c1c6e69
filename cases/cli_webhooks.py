"""`caseflow webhooks`: subscribe URLs to case events, read the delivery log, replay deliveries.

Imported at the end of cases/cli.py to register on its app. Whoever runs the command line is an
admin of the database, so these commands act as `cli`."""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from engine.clock import utcnow

from .cli import _settings, app
from .db import make_engine, session_scope
from .errors import CaseError, InvalidInput

webhooks_app = typer.Typer(help="Send case events to integrators' URLs, signed.",
                           no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
ACTOR = "cli"


def _session():
    return session_scope(make_engine(_settings().database_url))


def _refused(err: CaseError) -> typer.Exit:
    lines = ([f"{field}: {why}" for field, why in err.errors.items()]
             if isinstance(err, InvalidInput) else [str(err)])
    for line in lines:
        typer.echo(line, err=True)
    return typer.Exit(1)


@webhooks_app.command("add")
def add(url: str,
        events: Annotated[str, typer.Option(help="Comma-separated event types, or * for all.")],
        processes: Annotated[str, typer.Option(
            help="Only these process ids (comma-separated).")] = ""
        ) -> None:
    """Subscribe URL to case events; the signing secret is printed once."""
    from .webhooks.service import add_subscription

    with _session() as session:
        try:
            sub, secret = add_subscription(session, actor=ACTOR, now=utcnow(), url=url,
                                           events=events, processes=processes)
        except CaseError as err:
            raise _refused(err) from None
    typer.echo(f"Webhook {sub.id} to {sub.url} for {', '.join(json.loads(sub.events))}. "
               "Keep this signing secret; it is not shown again:")
    typer.echo(secret)


@webhooks_app.command("list")
def list_() -> None:
    """List the subscriptions (never their secrets)."""
    from .webhooks.service import list_subscriptions

    with _session() as session:
        for sub in list_subscriptions(session):
            processes = ", ".join(json.loads(sub.processes)) or "every process"
            typer.echo(f"{sub.id:4} {'active' if sub.active else 'paused':6} {sub.url}  "
                       f"events: {', '.join(json.loads(sub.events))}; {processes}")


@webhooks_app.command("remove")
def remove(subscription_id: int) -> None:
    """Delete a subscription and its delivery log."""
    from .webhooks.service import remove_subscription

    with _session() as session:
        try:
            remove_subscription(session, actor=ACTOR, now=utcnow(), subscription_id=subscription_id)
        except CaseError as err:
            raise _refused(err) from None
    typer.echo(f"Webhook {subscription_id} removed.")


@webhooks_app.command("deliveries")
def deliveries(failed: Annotated[bool, typer.Option("--failed", help="Only failed ones.")] = False,
               subscription: Annotated[Optional[int], typer.Option(
                   help="Of one subscription.")] = None,
               limit: int = 50) -> None:
    """The latest deliveries: status, attempts, last answer."""
    from .webhooks.service import list_deliveries

    with _session() as session:
        for d in list_deliveries(session, failed_only=failed, subscription_id=subscription,
                                 limit=limit):
            answer = d.last_status_code or "-"
            why = f"  {d.last_error}" if d.last_error and d.status != "delivered" else ""
            typer.echo(f"{d.id:6} webhook {d.subscription_id:<4} case {d.case_id:<6} "
                       f"{d.event_type:24} {d.status:9} attempts {d.attempts} answer {answer} "
                       f"{d.last_duration_ms if d.last_duration_ms is not None else '-'} ms{why}")


@webhooks_app.command("replay")
def replay(delivery_id: int) -> None:
    """Send a delivered or failed delivery again (same event id) with the next job round."""
    from .webhooks.service import replay as replay_delivery

    with _session() as session:
        try:
            replay_delivery(session, actor=ACTOR, now=utcnow(), delivery_id=delivery_id)
        except CaseError as err:
            raise _refused(err) from None
    typer.echo(f"Delivery {delivery_id} queued again; a job worker sends it.")
