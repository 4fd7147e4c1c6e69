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


@app.command()
def simulate(
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many cases to open.")] = 200,
    days: Annotated[float, typer.Option("--days", min=1, help="Over how many days up to now.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same history).")] = 1,
    once: Annotated[bool, typer.Option(
        "--once", help="Do nothing if a simulated history is there already (for make run).")] = False,
) -> None:
    """Build a realistic history on the shipped processes through the real services."""
    import sqlalchemy as sa
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.clock import utcnow

    from . import simulate as sim
    from .case_models import Case

    settings = _settings()
    with session_scope(make_engine(settings.database_url)) as session:
        simulated = sa.select(Case.id).where(Case.opened_by.like("sim\\_%", escape="\\")).limit(1)
        if once and session.execute(simulated).first() is not None:
            typer.echo("A simulated history is there already; not simulating again (--once).")
            return
        with Progress(TextColumn("Simulating"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=False) as bar:
            task = bar.add_task("cases", total=cases)
            result = sim.simulate(session, cases=cases, days=days, seed=seed, end=utcnow(),
                                  bpmn_dir=settings.bpmn_dir,
                                  progress=lambda n: bar.advance(task, n))
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(result.deviations.items())) or "none"
    typer.echo(f"Opened {result.cases} cases ({result.resolved} resolved) with {result.actions} "
               f"actions; deviations: {kinds}.")
    if result.redesigned:
        typer.echo(f"Redesign deployed half-way: {', '.join(result.redesigned)}")
    if result.errors:
        typer.echo(f"{len(result.errors)} actions were refused, e.g. {result.errors[0]}")
