"""The designer's `caseflow` commands against a real SQLite file: upload, compare, activate, retire,
migrate-cases (dry run and run) and their refusals."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from cases.case_models import Case
from cases.case_service import open_case
from cases.cli import app
from cases.customers import create_customer
from cases.db import make_engine
from cases.events import CaseEvent
from cases.users import create_user
from engine.store import DefinitionVersion
from tests.conftest import CORPUS, DATA, T0
from tests.engine import versions as engine_versions

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    assert runner.invoke(app, ["deploy", str(DATA / "deviations.bpmn"), "--activate"]).exit_code == 0
    v2 = tmp_path / "v2" / "deviations.bpmn"
    v2.parent.mkdir()
    v2.write_text(engine_versions.deviations_with_review())
    engine = make_engine(url)
    yield engine, v2
    engine.dispose()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _statuses(engine):
    with Session(engine) as s:
        return [(v.version, v.status) for v in s.exec(select(DefinitionVersion)
                                                       .order_by(DefinitionVersion.version))]


def _open_case(engine) -> int:
    with Session(engine, expire_on_commit=False) as s:
        agent = create_user(s, username="alex", password="correct horse", role="agent", now=T0)
        create_user(s, username="dana", password="correct horse", role="designer", now=T0)
        customer = create_customer(s, actor="alex", now=T0, name="Ada Byrne", account_number="C-1",
                                   email="ada@example.com", phone="+353 1 555 0101")
        return open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="dev_process",
                         channel="phone", data={}).id


def test_upload_compare_activate_retire(env):
    engine, v2 = env
    first = _run("upload", v2, "--actor", "dana")
    assert first.exit_code == 0, first.output
    assert "uploaded as draft dev_process v2 (draft)" in first.output
    assert "already uploaded as dev_process v2" in _run("upload", v2).output
    diff = _run("compare", "dev_process", 1, 2)
    assert diff.exit_code == 0
    assert "1 -> v2: 2 added, 0 removed, 2 changed" in diff.output
    assert "Review" in diff.output and "name: Check credit → Check credit score" in diff.output
    assert "no element differs" in _run("compare", "dev_process", 2, 2).output
    assert _run("activate", "dev_process", 2, "--actor", "dana").exit_code == 0
    assert _statuses(engine) == [(1, "retired"), (2, "active")]
    retired = _run("retire", "dev_process", 2)
    assert retired.exit_code == 0 and "new cases cannot start" in retired.output
    assert _statuses(engine) == [(1, "retired"), (2, "retired")]
    with Session(engine) as s:
        v1, v2_row = s.exec(select(DefinitionVersion).order_by(DefinitionVersion.version)).all()
        assert (v1.retired_by, v2_row.activated_by, v2_row.retired_by) == ("dana", "dana", "cli")


def test_refusals(env, tmp_path):
    engine, v2 = env
    broken = _run("upload", CORPUS / "broken" / "broken_09_xxe_etc_passwd.bpmn")
    assert broken.exit_code == 1 and "not stored" in broken.output and "DOCTYPE" in broken.output
    other = tmp_path / "other_name.bpmn"
    other.write_bytes(v2.read_bytes())
    collision = _run("upload", other)
    assert collision.exit_code == 1 and "already used by deviations.bpmn" in collision.output
    assert _run("upload", tmp_path / "missing.bpmn").exit_code == 2
    missing = _run("activate", "dev_process", 7)
    assert missing.exit_code == 2 and "No version 7 of process 'dev_process'" in missing.output
    assert _run("retire", "nope", 1).exit_code == 2
    assert _statuses(engine) == [(1, "active")]


def test_migrate_cases_dry_run_then_run(env):
    engine, v2 = env
    case_id = _open_case(engine)
    _run("upload", v2)
    plan = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2, "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "1 of 1 open case(s) can move" in plan.output and f"case {case_id}: can move" in plan.output
    with Session(engine) as s:
        assert s.get(Case, case_id).definition_id == 1
    agent = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2, "--actor", "alex")
    assert agent.exit_code == 1 and "only designers and admins" in agent.output
    same = _run("migrate-cases", "dev_process", "--from", 1, "--to", 1)
    assert same.exit_code == 1 and "different version" in same.output
    nothing = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2, "--case", 999)
    assert nothing.exit_code == 1 and "case 999: not moved" in nothing.output
    moved = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2, "--actor", "dana",
                 "--case", case_id)
    assert moved.exit_code == 0, moved.output
    assert "1 of 1 case(s) moved" in moved.output
    with Session(engine) as s:
        assert s.get(Case, case_id).definition_id == 2
        event = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                               CaseEvent.type == "process_migrated")).one()
    assert event.actor == "dana" and json.loads(event.details)["to_version"] == 2


def test_migrate_cases_reports_cases_that_cannot_move(env, tmp_path):
    engine, _v2 = env
    case_id = _open_case(engine)
    manual = tmp_path / "deviations.bpmn"
    xml = engine_versions.DEVIATIONS.replace('<bpmn:userTask id="Capture" name="Capture order">',
                                             '<bpmn:manualTask id="Capture" name="Capture order">', 1)
    head, tail = xml.split('<bpmn:manualTask id="Capture"', 1)
    body, rest = tail.split("</bpmn:userTask>", 1)
    body = body.split("<camunda:formData>")[0] + body.split("</camunda:formData>")[1]
    manual.write_text(head + '<bpmn:manualTask id="Capture"' + body + "</bpmn:manualTask>" + rest)
    assert _run("upload", manual).exit_code == 0
    plan = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2, "--dry-run")
    assert f"case {case_id}: cannot move" in plan.output and "manual task" in plan.output
    run = _run("migrate-cases", "dev_process", "--from", 1, "--to", 2)
    assert run.exit_code == 1 and "0 of 1 case(s) moved" in run.output
    with Session(engine) as s:
        assert s.get(Case, case_id).definition_id == 1
