"""`caseflow serve --workers N` (bench/http.py starts real servers with it)."""
from __future__ import annotations

from typer.testing import CliRunner

from cases.cli import app as cli


def test_serve_offers_workers_and_refuses_them_with_reload():
    runner = CliRunner()
    assert "--workers" in runner.invoke(cli, ["serve", "--help"]).output
    refused = runner.invoke(cli, ["serve", "--reload", "--workers", "2"])
    assert refused.exit_code == 2
    assert "--reload runs one process" in refused.output
    assert runner.invoke(cli, ["serve", "--workers", "0"]).exit_code == 2  # at least one
