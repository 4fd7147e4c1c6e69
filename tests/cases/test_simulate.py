"""The simulator: a history through the real services, following the configured patterns."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from cases import audit, insights
from cases.case_models import Case
from cases.cli import app
from cases.deviations import Deviation
from cases.events import CaseEvent
from cases.simulate import Patterns, simulate, without_step
from engine import store
from tests.conftest import BPMN_DIR, T0

END = T0 + timedelta(days=20)


def only_install(**kw) -> Patterns:
    quiet = {"repeat_contact_rate": 0, "add_task_rate": 0, "reassign_rate": 0, "extend_rate": 0,
                 "hold_rate": 0, "cancel_rate": 0, "rework_rate": 0}
    return Patterns(mix={"install_service": 1.0}, **{**quiet, **kw})


def test_patterns_show_in_the_insights(session):
    result = simulate(session, cases=8, days=20, seed=5, end=END,
                      patterns=only_install(skip_rate=1.0, fix_at=0.5))
    assert result.cases == 8 and not result.errors
    assert result.redesigned == ["install_service v2"]
    v1, v2 = insights.versions(session, "install_service")
    assert store.active_version(session, "install_service").id == v2.id
    n1 = session.execute(sa.select(sa.func.count()).where(Case.definition_id == v1.id)).scalar_one()
    n2 = session.execute(sa.select(sa.func.count()).where(Case.definition_id == v2.id)).scalar_one()
    assert n1 + n2 == 8 and n1 > 0 and n2 > 0
    report = insights.exception_report(session, v1, now=END)
    agree = report.element("Task_AgreeAppointment")
    assert agree.reached > 0
    assert agree.by_kind == {"skip": agree.reached}  # skipped every time (rate 1.0) ...
    assert agree.reasons[0]["code"] == "customer_already_confirmed"
    assert insights.exception_report(session, v2, now=END).element(
        "Task_AgreeAppointment") is None  # ... and gone from the redesign
    for case in session.exec(select(Case)).all():  # every row came through the services
        assert audit.verify(session, case.id) == []
    assert session.exec(select(sa.func.count()).select_from(Deviation)).one() == result.deviations["skip"]


def test_rework_override_breaches_and_contacts(session):
    result = simulate(session, cases=30, days=20, seed=11, end=END, patterns=Patterns(
        mix={"install_service": 0.5, "billing_inquiry": 0.5}, rework_rate=1.0, override_rate=1.0,
        repeat_contact_rate=0.5, fix_at=None, breach_team_rate=1.0))
    assert result.cases == 30 and not result.errors, result.errors[:3]
    assert result.deviations.get("go_back", 0) > 0 and result.deviations.get("override_decision", 0) > 0
    kinds = dict(session.execute(sa.select(Deviation.kind, sa.func.count()).group_by(Deviation.kind)).all())
    assert kinds == result.deviations
    overrides = session.exec(select(Deviation).where(Deviation.kind == "override_decision")).all()
    assert {(d.element_id, d.actor) for d in overrides} == {("Gateway_AboveLimit", "sim_s1")}
    install = store.active_version(session, "install_service")
    report = insights.exception_report(session, install, now=END)
    field = report.element("Task_InstallOnSite")
    assert field.rework > 0 and field.breaches > 0
    assert session.execute(sa.select(sa.func.count()).where(
        CaseEvent.type == "message_received")).scalar_one() > 0
    assert session.execute(sa.select(sa.func.count()).where(
        CaseEvent.type == "sla_breached")).scalar_one() > 0


def test_without_step_keeps_a_valid_model():
    from engine.validate import validate_bpmn

    data = without_step((BPMN_DIR / "install_service.bpmn").read_bytes(), "Task_AgreeAppointment")
    from tests.bpmn.harness import shipped_decisions

    report = validate_bpmn(data, "install_service.bpmn", decisions=shipped_decisions())
    assert report.valid, report.problems
    assert b"Task_AgreeAppointment" not in data


def test_simulate_command(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["simulate", "--cases", "6", "--days", "10", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "Opened 6 cases" in result.output
    again = runner.invoke(app, ["simulate", "--cases", "6", "--once"])
    assert again.exit_code == 0 and "not simulating again" in again.output
    out = tmp_path / "log.xes"
    exported = runner.invoke(app, ["export", "--format", "xes", "--output", str(out)])
    assert "Wrote 6 traces" in exported.output
