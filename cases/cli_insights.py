"""`caseflow` commands of the insights area; imported at the end of cases/cli.py to register on its app."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer

from .cli import _settings, app
from .db import make_engine, session_scope


def _day(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        typer.echo(f"{option}: give a date as YYYY-MM-DD, not '{text}'", err=True)
        raise typer.Exit(2) from None


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv (events; see --cases) or xes")],
    output: Annotated[Path, typer.Option("--output", help="File to write.")],
    process: Annotated[str | None, typer.Option("--process", help="Only this process.")] = None,
    since: Annotated[str | None, typer.Option(help="Cases opened on or after this day.")] = None,
    until: Annotated[str | None, typer.Option(help="Cases opened before this day.")] = None,
    cases: Annotated[bool, typer.Option("--cases", help="CSV: a row per case.")] = False,
) -> None:
    """Export the event log as CSV or XES (IEEE 1849) for process-mining tools."""
    from . import exports

    if fmt not in exports.FORMATS:
        typer.echo(f"--format: choose one of {', '.join(exports.FORMATS)}", err=True)
        raise typer.Exit(2)
    f = exports.ExportFilter(process_id=process, since=_day(since, "--since"),
                             until=_day(until, "--until"))
    with session_scope(make_engine(_settings().database_url)) as session, \
            open(output, "w", encoding="utf-8", newline="") as out:
        if fmt == "xes":
            traces, events = exports.write_xes(session, out, f)
            typer.echo(f"Wrote {traces} traces and {events} events to {output}")
        elif cases:
            typer.echo(f"Wrote {exports.write_cases_csv(session, out, f)} cases to {output}")
        else:
            typer.echo(f"Wrote {exports.write_events_csv(session, out, f)} events to {output}")
