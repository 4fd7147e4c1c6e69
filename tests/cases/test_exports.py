"""Exports: CSV of cases and events, XES valid against the IEEE 1849-2016 schema and read by PM4Py."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from cases import exports
from cases.events import CaseEvent
from cases.exports import ExportFilter
from tests.cases.conftest import People, deploy_shipped
from tests.cases.test_case_service import _open
from tests.cases.test_insights import build_history
from tests.conftest import T0

XSD = Path(__file__).resolve().parents[1] / "data" / "xes-ieee-1849-2016.xsd"
XES_NS = "http://www.xes-standard.org/"


def xes_schema() -> etree.XMLSchema:
    """The standard's schema, given XES's namespace (it declares none; XES files carry it)."""
    text = XSD.read_text(encoding="utf-8").replace(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"',
        f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{XES_NS}" '
        f'xmlns="{XES_NS}"', 1)
    return etree.XMLSchema(etree.fromstring(text.encode("utf-8")))


@pytest.fixture
def history(session, people, customer):
    return build_history(session, people, customer)


def event_count(session, case_ids=None) -> int:
    q = sa.select(sa.func.count()).select_from(CaseEvent)
    if case_ids is not None:
        q = q.where(CaseEvent.case_id.in_(case_ids))
    return session.execute(q).scalar_one()


def test_events_csv(session, history):
    out = io.StringIO()
    n = exports.write_events_csv(session, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == event_count(session)
    c2, c3 = history["cases"][1:3]
    skips = [r for r in rows if r["type"] == "task_skipped"]
    assert [(int(r["case_id"]), r["activity"], r["deviation_kind"], r["reason_code"],
             r["reason_category"], r["lifecycle"]) for r in skips] == [
        (c2, "Agree installation appointment", "skip", "customer_already_confirmed",
         "customer_driven", "manualskip"),
        (c3, "Agree installation appointment", "skip", "customer_already_confirmed",
         "customer_driven", "manualskip")]
    first = rows[0]
    assert (first["type"], first["seq"], first["activity"], first["process_id"]) == (
        "case_opened", "1", "Case opened", "install_service")
    rework = next(r for r in rows if r["type"] == "process_rewound_to_task")
    assert rework["activity"] == "Process rewound to task: Install at the customer's premises"
    assert rework["deviation_kind"] == "go_back"


def test_cases_csv_and_filters(session, history):
    out = io.StringIO()
    assert exports.write_cases_csv(session, out) == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["status"] for r in rows] == ["resolved", "resolved", "resolved", "open"]
    assert rows[3]["channel"] == "web" and rows[3]["closed_at"] == ""
    assert sum(int(r["events"]) for r in rows) == event_count(session)
    week2 = ExportFilter(since=T0 + timedelta(days=7))
    out = io.StringIO()
    assert exports.write_cases_csv(session, out, week2) == 1
    out = io.StringIO()
    assert exports.write_events_csv(session, out, week2) == event_count(session, [history["cases"][3]])
    assert exports.write_cases_csv(session, io.StringIO(), ExportFilter(process_id="complaint")) == 0


def test_xes_is_valid_and_pm4py_reads_it_back(session, history, tmp_path):
    pm4py = pytest.importorskip("pm4py")
    path = tmp_path / "log.xes"
    with open(path, "w", encoding="utf-8") as fh:
        traces, events = exports.write_xes(session, fh)
    assert (traces, events) == (4, event_count(session))
    doc = etree.parse(str(path))
    schema = xes_schema()
    assert schema.validate(doc), schema.error_log
    log = pm4py.read_xes(str(path), return_legacy_log_object=True)
    assert len(log) == 4
    assert sum(len(trace) for trace in log) == events
    by_case = {trace.attributes["concept:name"]: trace for trace in log}
    c2 = by_case[str(history["cases"][1])]
    skip = next(e for e in c2 if e["lifecycle:transition"] == "manualskip")
    assert skip["concept:name"] == "Agree installation appointment"
    assert (skip["deviation_kind"], skip["deviation_reason"], skip["org:resource"]) == (
        "skip", "customer_already_confirmed", "ann")
    assert skip["time:timestamp"].year == 2026
    df = pm4py.read_xes(str(path))
    assert len(df) == events and df["case:concept:name"].nunique() == 4


def test_schema_refuses_a_broken_log(tmp_path):
    doc = etree.fromstring(f'<log xmlns="{XES_NS}" xes.version="1849.2016"><trace><event>'
                           f'<string key="concept:name"/></event></trace></log>'.encode())
    assert not xes_schema().validate(doc)  # a string attribute without a value


def test_export_command(history, db_url, tmp_path, monkeypatch, session):
    from typer.testing import CliRunner

    from cases.cli import app

    monkeypatch.setenv("CASEFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    runner = CliRunner()
    xes = tmp_path / "out.xes"
    result = runner.invoke(app, ["export", "--format", "xes", "--output", str(xes),
                                 "--process", "install_service", "--since", "2026-03-09"])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 traces" in result.output
    assert xes_schema().validate(etree.parse(str(xes)))
    out = tmp_path / "cases.csv"
    result = runner.invoke(app, ["export", "--format", "csv", "--cases", "--output", str(out)])
    assert result.exit_code == 0 and "Wrote 4 cases" in result.output
    result = runner.invoke(app, ["export", "--format", "csv", "--output", str(out)])
    assert f"Wrote {event_count(session)} events" in result.output
    assert len(out.read_text().splitlines()) == event_count(session) + 1
    bad = runner.invoke(app, ["export", "--format", "pdf", "--output", str(out)])
    assert bad.exit_code == 2 and "choose one of csv, xes" in bad.output
    bad = runner.invoke(app, ["export", "--format", "csv", "--output", str(out), "--since", "May"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


FORMULA = '=HYPERLINK("http://evil.example/","Click")'
DANGEROUS = tuple("=+-@\t\r")


def _case_with_adhoc_task(session, people, customer, title: str) -> int:
    from cases import deviation_service

    deploy_shipped(session, "install_service")
    case = _open(session, people, customer)
    deviation_service.add_task(session, actor=people.ann, now=T0 + timedelta(minutes=1),
                               case_id=case.id, expected_version=case.row_version,
                               reason_code="customer_asked_for_written_confirmation",
                               note="asked on the phone", title=title, team="Customer Care")
    return case.id


def test_a_formula_in_an_adhoc_task_title_is_neutralised_in_the_events_csv(session, people,
                                                                          customer):
    case_id = _case_with_adhoc_task(session, people, customer, FORMULA)
    out = io.StringIO()
    exports.write_events_csv(session, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    opened = [r for r in rows
              if r["type"] == "task_opened" and r["element_id"].startswith("adhoc:")]
    assert [(int(r["case_id"]), r["activity"]) for r in opened] == [(case_id, "'" + FORMULA)]
    cells = [cell for row in csv.reader(io.StringIO(out.getvalue())) for cell in row]
    assert not [c for c in cells if c.startswith(DANGEROUS)]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("＝1+1", "'＝1+1"), ("Call back", "Call back"),
    ("", ""), (7, 7), (-3, -3)])
def test_cell_neutralises_what_a_spreadsheet_would_run(value, expected):
    assert exports.csv_cell(value) == expected


def test_the_cases_csv_neutralises_its_text_cells(session, people, customer):
    from cases.users import create_user

    deploy_shipped(session, "install_service")
    evil = create_user(session, username="@evil", password="Tq7-vine-Orbit-92x", role="agent", now=T0,
                       teams=["Customer Care"])
    session.commit()
    _open(session, People(evil, evil, evil, evil), customer)
    out = io.StringIO()
    exports.write_cases_csv(session, out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["opened_by"] == "'@evil"


def test_xes_escapes_markup_and_control_characters_in_a_title(session, people, customer, tmp_path):
    title = 'Say "hi" & <b>bye</b>\x01\x1b then ]]> done'
    _case_with_adhoc_task(session, people, customer, title)
    path = tmp_path / "log.xes"
    with open(path, "w", encoding="utf-8", errors="strict") as fh:
        exports.write_xes(session, fh)
    doc = etree.parse(str(path))
    assert xes_schema().validate(doc)
    names = doc.getroot().xpath("//x:event/x:string[@key='concept:name']/@value",
                                namespaces={"x": XES_NS})
    assert 'Say "hi" & <b>bye</b>\ufffd\ufffd then ]]> done' in names
