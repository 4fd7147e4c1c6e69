"""The `caseflow` command against a real SQLite file."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cases.cli import app
from tests.conftest import CORPUS, DATA

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    monkeypatch.delenv("CASEFLOW_DEMO_MODE", raising=False)
    assert runner.invoke(app, ["migrate"]).exit_code == 0


def test_validate_valid_file_exits_zero(env):
    result = runner.invoke(app, ["validate", str(DATA / "deviations.bpmn")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "dev_process" in result.output


def test_validate_json_lists_problems_with_element_and_line(env):
    result = runner.invoke(app, ["validate", "--json", str(CORPUS / "broken" / "broken_04_flow_to_missing_id.bpmn")])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False and report["problems"]
    first = report["problems"][0]
    assert set(first) >= {"element_id", "element_name", "line", "message"}
    assert any(p["line"] for p in report["problems"])


def test_validate_missing_file_says_so(env, tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.bpmn")])
    assert result.exit_code == 2 and "No such file" in result.output


def test_deploy_activate_and_list(env):
    first = runner.invoke(app, ["deploy", str(DATA / "deviations.bpmn"), "--activate"])
    assert first.exit_code == 0 and "deployed dev_process v1 (active)" in first.output
    again = runner.invoke(app, ["deploy", str(DATA / "deviations.bpmn")])
    assert "already deployed as dev_process v1" in again.output
    listing = runner.invoke(app, ["definitions"])
    assert "dev_process" in listing.output and "active" in listing.output


def test_deploy_broken_file_reports_problems_and_stores_nothing(env):
    result = runner.invoke(app, ["deploy", str(CORPUS / "broken" / "broken_05_no_start_event.bpmn")])
    assert result.exit_code == 1 and "not deployed" in result.output
    assert "No definitions deployed." in runner.invoke(app, ["definitions"]).output


def test_demo_refuses_outside_demo_mode(env):
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1 and "DEMO_MODE" in result.output


def test_users_create_and_list(env):
    result = runner.invoke(app, ["users", "create", "ann", "--role", "agent", "--teams", "Billing"],
                           input="long-sturdy-password\nlong-sturdy-password\n")
    assert result.exit_code == 0, result.output
    assert "ann" in runner.invoke(app, ["users", "list"]).output
    bad = runner.invoke(app, ["users", "create", "bob", "--role", "wizard"], input="long-sturdy-password\nlong-sturdy-password\n")
    assert bad.exit_code == 1 and "Unknown role" in bad.output


def test_demo_on_a_fresh_folder_creates_the_database_deploys_and_prints_passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'new.sqlite3'}")
    monkeypatch.setenv("CASEFLOW_DEMO_MODE", "true")
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "install_service" in result.output and "password:" in result.output
    assert (tmp_path / "var" / "new.sqlite3").exists()
    again = runner.invoke(app, ["demo"])
    assert again.exit_code == 0 and again.output.count("password:") == 4, "passwords renewed"


def test_migrate_loads_the_reason_code_catalog_once(env, tmp_path):
    import sqlalchemy as sa

    assert runner.invoke(app, ["migrate"]).exit_code == 0  # a second run adds nothing
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), count(DISTINCT code) FROM reason_code")).one() == (46, 46)
    engine.dispose()


def test_timers_sweep_runs_on_an_empty_database(env):
    result = runner.invoke(app, ["timers"])
    assert result.exit_code == 0 and "fired the due timers of 0 case(s)" in result.output


def test_worker_once_signal_and_incidents_commands(env):
    worker = runner.invoke(app, ["worker", "--once"])
    # the periodic jobs: the SLA sweep and the webhook dispatcher
    assert worker.exit_code == 0 and "ran 2 job(s)" in worker.output, worker.output
    signal = runner.invoke(app, ["signal", "mass_outage_cleared", "--payload", '{"area": "D4"}'])
    assert signal.exit_code == 0 and "goes to 0 waiting case(s)" in signal.output
    bad = runner.invoke(app, ["signal", "x", "--payload", "{oops"])
    assert bad.exit_code == 2 and "--payload is not JSON" in bad.output
    assert "No incidents." in runner.invoke(app, ["incidents", "list"]).output
    missing = runner.invoke(app, ["incidents", "resolve", "7", "--note", "done"])
    assert missing.exit_code == 1 and "No incident 7" in missing.output


def test_tokens_create_list_and_revoke(env):
    assert runner.invoke(app, ["users", "create", "crm", "--role", "agent", "--password",
                               "long-enough-pass", "--teams", "Customer Care"]).exit_code == 0
    created = runner.invoke(app, ["tokens", "create", "crm", "--name", "CRM link"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("cft_")
    listed = runner.invoke(app, ["tokens", "list"])
    assert "CRM link" in listed.output and "active" in listed.output and secret not in listed.output
    assert runner.invoke(app, ["tokens", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["tokens", "list"]).output
    assert runner.invoke(app, ["tokens", "revoke", "99"]).exit_code == 1
    assert runner.invoke(app, ["tokens", "create", "nobody", "--name", "x"]).exit_code == 1


def test_sla_sweep_runs_on_an_empty_database(env):
    result = runner.invoke(app, ["sla"])
    assert result.exit_code == 0, result.output
    assert "breached 0" in result.output


def test_deploy_refuses_a_process_id_another_file_uses(env, tmp_path):
    original = DATA / "deviations.bpmn"
    assert runner.invoke(app, ["deploy", str(original)]).exit_code == 0
    copy = tmp_path / "someone_elses.bpmn"
    copy.write_bytes(original.read_bytes().replace(b'name="Deviation test"', b'name="Copy"'))
    result = runner.invoke(app, ["deploy", str(copy)])
    assert result.exit_code == 1
    assert "dev_process" in result.output and "deviations.bpmn" in result.output
    listed = runner.invoke(app, ["definitions"]).output
    assert listed.count("dev_process") == 1, "nothing stored"
    same_name = tmp_path / "deviations.bpmn"
    same_name.write_bytes(copy.read_bytes())
    assert runner.invoke(app, ["deploy", str(same_name)]).exit_code == 0, "a new version is fine"
