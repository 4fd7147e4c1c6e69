"""Every failure of a `caseflow` command as one or two lines saying what to do, never a traceback.

The command group (`CaseflowGroup`, the class of cases/cli.py's app) wraps every command: a
known failure (bad configuration, a database that is not migrated or cannot be reached, a missing
file) is printed as `Caseflow: ...` on stderr and ends the command with a non-zero exit code. An
unknown failure is a bug: it is said in one line too, and CASEFLOW_TRACEBACK=1 shows where.

Exit codes: 1 the command was refused or failed, 2 bad usage or configuration, 3 the database
is missing its schema or cannot be reached, 130 interrupted.
"""
from __future__ import annotations

import os
import re

import click
import sqlalchemy as sa
import typer
from typer.core import TyperGroup

CONFIG, DATABASE, INTERRUPTED = 2, 3, 130
MIGRATE = "run `caseflow migrate`"


# Usage errors and exits pass through as the CLI library words them. Typer >= 0.2x carries its
# own copy of click (typer._click), whose exceptions derive from typer.TyperException, not click's.
PASS_THROUGH = (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort,
                *((typer.TyperException,) if hasattr(typer, "TyperException") else ()))


class CaseflowGroup(TyperGroup):
    """The `caseflow` group: runs a command and turns a known failure into its message."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            raise typer.Exit(INTERRUPTED) from None
        except Exception as err:  # noqa: BLE001 - the one place a command's failure is worded
            if os.environ.get("CASEFLOW_TRACEBACK") == "1":
                raise
            lines, code = explain(err)
            prefix = "Caseflow cannot start" if code == CONFIG else "Caseflow"
            for line in lines:
                typer.echo(f"{prefix}: {line}", err=True)
            raise typer.Exit(code) from None


class SettingsInvalid(Exception):
    """The CASEFLOW_* environment does not make valid Settings; `lines` say what to change."""

    def __init__(self, lines: list[str]):
        super().__init__("; ".join(lines))
        self.lines = lines


def settings_problems(err: Exception) -> list[str]:
    """One line per wrong setting, naming its environment variable and never echoing its value."""
    from pydantic import ValidationError

    if isinstance(err, ValidationError):
        lines = []
        for error in err.errors(include_input=False, include_url=False):
            message = error["msg"].removeprefix("Value error, ")
            name = "CASEFLOW_" + str(error["loc"][0]).upper() if error["loc"] else ""
            lines.append(message if not name or name in message else f"{name}: {message}")
        return lines
    found = re.search(r'field "(\w+)"', str(err))  # pydantic-settings' SettingsError (bad JSON)
    name = f"CASEFLOW_{found.group(1).upper()}" if found else "a CASEFLOW_ setting"
    return [f"{name}: cannot be read ({err.__cause__ or err}); give it as JSON"]


def explain(err: Exception) -> tuple[list[str], int]:
    """The lines to print and the exit code for a command's failure."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from engine.errors import InvalidBpmn

    from .audit_key import AuditKeyMissing
    from .errors import CaseError

    if isinstance(err, SettingsInvalid):
        return err.lines, CONFIG
    if isinstance(err, (ValidationError, SettingsError)):
        return settings_problems(err), CONFIG
    if isinstance(err, AuditKeyMissing):
        return [str(err)], CONFIG
    if isinstance(err, sa.exc.DBAPIError):
        return database_problem(err)
    if isinstance(err, sa.exc.ArgumentError | sa.exc.NoSuchModuleError):
        return [f"CASEFLOW_DATABASE_URL is not a database address Caseflow can use ({err}); "
                "give sqlite:///path/file.sqlite3 or postgresql://user@host/db"], CONFIG
    if isinstance(err, FileNotFoundError):
        return [f"No such file: {err.filename or err}"], 1
    if isinstance(err, IsADirectoryError):
        return [f"{err.filename} is a folder; give a file"], 1
    if isinstance(err, PermissionError):
        return [f"Not allowed to read or write {err.filename or err}: check its permissions"], 1
    if isinstance(err, InvalidBpmn):  # commands list every problem themselves; this is the rest
        first = err.problems[0] if err.problems else None
        more = f" (and {len(err.problems) - 1} more: see `caseflow validate FILE`)" \
            if len(err.problems) > 1 else ""
        where = f"{first.element_id} line {first.line or '?'}: " if first and first.element_id else ""
        return [f"not deployed: {where}{first.message if first else err}{more}"], 1
    if isinstance(err, CaseError):
        return [str(err)], 1
    return [f"unexpected error: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            "This is a bug; set CASEFLOW_TRACEBACK=1 and run again to see where, and report it."], 1


def safe_url(url: str) -> str:
    """The database address without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable address is shown as the settings say
        return "CASEFLOW_DATABASE_URL"


def database_problem(err: sa.exc.DBAPIError) -> tuple[list[str], int]:
    """Unmigrated, outdated or unreachable database: what happened and what to do."""
    from .settings import DEFAULT_SQLITE

    url = os.environ.get("CASEFLOW_DATABASE_URL", DEFAULT_SQLITE)
    text = str(err.orig).lower()
    sqlstate = getattr(err.orig, "sqlstate", None)
    if "no such table" in text or sqlstate == "42P01":
        return [f"The database at {safe_url(url)} has no Caseflow tables (or not all of them): "
                f"{MIGRATE} first."], DATABASE
    if "no such column" in text or sqlstate == "42703":
        return [f"The database at {safe_url(url)} has an older schema than this Caseflow: "
                f"{MIGRATE}."], DATABASE
    if "unable to open database file" in text:
        return [f"Cannot open the SQLite file of {safe_url(url)}: check that its folder exists "
                "and is writable (CASEFLOW_DATABASE_URL)."], DATABASE
    if isinstance(err, sa.exc.OperationalError) and sqlstate is None:
        text = str(err.orig).strip()
        reason = text.splitlines()[0].removeprefix("connection failed: ")[:200] if text else "no answer"
        return [f"Cannot reach the database at {safe_url(url)}: {reason}",
                "Check CASEFLOW_DATABASE_URL and that the database server is running."], DATABASE
    first = str(err.orig).strip().splitlines()[0][:200] if str(err.orig).strip() else type(err).__name__
    return [f"The database refused the command: {first}"], 1
