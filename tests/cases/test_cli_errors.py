"""What an operator sees when a `caseflow` command cannot do its work: one or two lines, never a
traceback, and a non-zero exit code. The installed `caseflow` entry point runs in a subprocess
against a fresh (unmigrated) SQLite file and an unreachable PostgreSQL address; the long tail of
commands runs through the same click group in-process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import httpx
import pytest
import typer
from typer.testing import CliRunner

from cases.cli import app
from tests.conftest import DATA, ROOT

CASEFLOW = Path(sys.executable).parent / "caseflow"
SECRET = "k" * 40
UNREACHABLE = "postgresql://caseflow:hunter2-password@127.0.0.1:1/caseflow"
runner = CliRunner()


def caseflow(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed entry point; stdin closed, environment exactly `env` plus PATH."""
    full = {"PATH": os.environ["PATH"], "CASEFLOW_AUDIT_KEY": "a" * 40, **env}
    return subprocess.run([str(CASEFLOW), *args], env=full, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def said(result) -> list[str]:
    """The lines a command printed on stderr and stdout, after checking there is no traceback."""
    text = result.stderr + result.stdout
    assert "Traceback" not in text and 'File "' not in text, text
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def fresh(tmp_path) -> dict[str, str]:
    """The environment of a configured Caseflow whose SQLite file has never been migrated."""
    return {"CASEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
            "CASEFLOW_SECRET_KEY": SECRET}


@pytest.fixture
def in_process(fresh, monkeypatch):
    for name, value in {**fresh, "CASEFLOW_AUDIT_KEY": "a" * 40}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CASEFLOW_DEMO_MODE", raising=False)
    return fresh


# ---- the real entry point -------------------------------------------------------------------
@pytest.mark.parametrize("secret", [None, "changeme", "CHANGEME"])
def test_a_missing_or_placeholder_secret_is_one_line_that_never_echoes_it(fresh, secret):
    env = {k: v for k, v in fresh.items() if k != "CASEFLOW_SECRET_KEY"}
    if secret is not None:
        env["CASEFLOW_SECRET_KEY"] = secret
    result = caseflow("users", "list", env=env)
    assert result.returncode == 2
    [line] = said(result)
    assert line.startswith("Caseflow cannot start: Set CASEFLOW_SECRET_KEY to a long random value")
    assert secret is None or secret not in line


def test_an_unmigrated_database_says_run_caseflow_migrate(fresh):
    for command in (["deploy", str(DATA / "deviations.bpmn")], ["users", "list"]):
        result = caseflow(*command, env=fresh)
        assert result.returncode == 3, command
        [line] = said(result)
        assert "has no Caseflow tables" in line and "run `caseflow migrate`" in line, line


def test_serve_refuses_an_unmigrated_database_in_one_line(fresh):
    result = caseflow("serve", "--port", "1", env=fresh)
    assert result.returncode == 3
    [line] = said(result)
    assert "not migrated" in line and "run `caseflow migrate`" in line
    assert "caseflow serve --migrate" in line


def test_an_unreachable_database_names_the_address_without_its_password():
    result = caseflow("definitions", env={"CASEFLOW_DATABASE_URL": UNREACHABLE,
                                          "CASEFLOW_SECRET_KEY": SECRET})
    assert result.returncode == 3
    first, second = said(result)
    assert first.startswith("Caseflow: Cannot reach the database at "
                            "postgresql://caseflow:***@127.0.0.1:1/caseflow")
    assert "Check CASEFLOW_DATABASE_URL" in second
    assert "hunter2" not in result.stderr + result.stdout


def test_serve_migrate_creates_the_schema_then_serves_and_logs_json(tmp_path, fresh):
    """`serve --migrate` on a fresh file: migrated, ready, one JSON log line per request."""
    port = _free_port()
    env = {"PATH": os.environ["PATH"], "CASEFLOW_AUDIT_KEY": "a" * 40, **fresh,
           "CASEFLOW_RUN_JOBS": "false"}
    proc = subprocess.Popen([str(CASEFLOW), "serve", "--migrate", "--port", str(port)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        answer = _first_answer(f"{base}/api/ready", proc)
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"]["schema"]["ok"] is True
        assert httpx.get(f"{base}/api/health", headers={"X-Request-ID": "probe-1"}).headers[
            "x-request-id"] == "probe-1"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "Created the database at schema" in out
    import json

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    probe = [x for x in lines if x.get("request_id") == "probe-1"]
    assert probe and probe[0]["route"] == "/api/health" and probe[0]["status"] == 200
    assert {"time", "level", "logger", "message", "method", "duration_ms", "user"} <= set(probe[0])
    assert not [line for line in err.splitlines() if line.strip() and not line.startswith("{")], err


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_answer(url: str, proc: subprocess.Popen) -> httpx.Response:
    """Poll until the server answers (the way tests/browser/conftest.py waits for uvicorn)."""
    import time

    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        try:
            return httpx.get(url)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer")


# ---- every command through the same group, in-process ---------------------------------------
NEEDS_TABLES = [
    ["definitions"], ["users", "list"], ["tokens", "list"], ["audit", "verify"],
    ["incidents", "list"], ["worker", "--once"], ["timers"], ["sla"], ["webhooks", "list"],
    ["activate", "dev_process", "1"], ["export", "--format", "csv", "--output", "{tmp}/x.csv"],
    ["signal", "mass_outage_cleared"], ["users", "create", "ann", "--role", "agent",
                                        "--password", "long-sturdy-password"],
]


@pytest.mark.parametrize("command", NEEDS_TABLES, ids=lambda c: " ".join(c[:2]))
def test_every_command_that_needs_tables_says_run_migrate(in_process, tmp_path, command):
    result = runner.invoke(app, [part.format(tmp=tmp_path) for part in command])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = said_by(result)
    assert "run `caseflow migrate`" in line


def said_by(result) -> list[str]:
    assert "Traceback" not in result.output
    return [line for line in result.output.splitlines() if line.strip()]


@pytest.mark.parametrize("setting, value, named", [
    ("CASEFLOW_SCRIPT_TIME_LIMIT", "two seconds", "CASEFLOW_SCRIPT_TIME_LIMIT"),
    ("CASEFLOW_SLA_AT_RISK", "1.5", "CASEFLOW_SLA_AT_RISK"),
    ("CASEFLOW_LANE_TEAMS", "{Field Operations: North}", "CASEFLOW_LANE_TEAMS"),
    ("CASEFLOW_DATABASE_URL", "mysql://root@localhost/caseflow", "CASEFLOW_DATABASE_URL"),
    ("CASEFLOW_DATABASE_URL", "not a url at all", "CASEFLOW_DATABASE_URL"),
    ("CASEFLOW_LOG_FORMAT", "xml", "CASEFLOW_LOG_FORMAT"),
    ("CASEFLOW_METRICS_TOKEN", "short", "CASEFLOW_METRICS_TOKEN"),
    ("CASEFLOW_DB_POOL_SIZE", "0", "CASEFLOW_DB_POOL_SIZE"),
])
def test_a_bad_setting_is_named_in_one_line(in_process, monkeypatch, setting, value, named):
    monkeypatch.setenv(setting, value)
    result = runner.invoke(app, ["definitions"])
    assert result.exit_code == 2, result.output
    [line] = said_by(result)
    assert line.startswith("Caseflow cannot start: ") and named in line, line


def test_a_missing_file_is_named(in_process, tmp_path):
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["deploy", str(tmp_path / "nope.bpmn")])
    assert result.exit_code == 1
    assert said_by(result) == [f"Caseflow: No such file: {tmp_path / 'nope.bpmn'}"]
    into_nowhere = runner.invoke(app, ["export", "--format", "csv", "--output",
                                       str(tmp_path / "no" / "such" / "folder.csv")])
    assert into_nowhere.exit_code == 1 and "No such file" in into_nowhere.output


def test_deploy_activates_by_default_and_draft_only_stores(in_process):
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["deploy", str(DATA / "deviations.bpmn")])
    assert result.exit_code == 0 and "deployed dev_process v1 (active)" in result.output
    draft = runner.invoke(app, ["deploy", "--draft", str(DATA / "parallel.bpmn")])
    assert draft.exit_code == 0 and "(draft)" in draft.output, draft.output


def test_version_and_help_on_every_command(in_process):
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"caseflow {version('caseflow')}"
    paths = list(_commands(typer.main.get_command(app), []))
    assert len(paths) > 30
    for path in paths:
        for flag in ("-h", "--help"):
            answer = runner.invoke(app, [*path, flag], prog_name="caseflow")
            assert answer.exit_code == 0 and "Usage: caseflow" in answer.output, (path, flag)


def _commands(group: click.Command, prefix: list[str]):
    yield prefix
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, [*prefix, name])
