"""Opening a case through a process's start form: the new-case page draws it (and htmx swaps it
in), checks it with the task forms' rules (errors by field, typed input kept, nothing stored),
puts its values into the case's start data; the JSON API checks the same fields. The process is
a Camunda Modeler set (tests/engine/data/refund_set) uploaded as a designer would."""
from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from cases.case_models import Case, WorkItem
from cases.customers import Customer, create_customer
from cases.db import upgrade
from cases.definition_files import upload_set
from cases.definitions import activate, deploy_file
from cases.events import CaseEvent
from cases.settings import Settings
from cases.users import create_user
from engine.store import WorkflowInstance
from tests.conftest import DATA, T0
from web.app import create_app

from .conftest import PASSWORD, csrf_from

SET = DATA / "refund_set"
REFUND = "Process_RefundRequest"
GOOD = {"start.invoice_number": "INV-2026-0042", "start.invoice_date": "2026-11-03",
        "start.refund_amount": "42.50", "start.disputed_share": "12.5",
        "start.refund_reason": "Billed twice for November.\nBoth invoices are on file.",
        "start.refund_method": "bank", "start.urgent": "true"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('start_forms') / 'web.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="s" * 40))
    with Session(app.state.engine) as s:
        files = [(n, (SET / n).read_bytes()) for n in ("refund_request.bpmn",
                                                       "refund_request.form")]
        result = upload_set(s, files, actor="designer", now=T0)
        assert not result.problems, result.problems
        activate(s, actor="designer", now=T0, definition_id=result.versions[0].id)
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        create_user(s, username="agent", password=PASSWORD, role="agent", now=T0,
                    teams=["Customer Care"])
        s.commit()
        create_customer(s, actor="agent", now=T0, name="Ada Byrne", account_number="C-1001")
    yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        csrf = csrf_from(c.get("/login").text)
        c.post("/login", data={"username": "agent", "password": PASSWORD, "csrf_token": csrf,
                               "next": "/"})
        yield c


@pytest.fixture(scope="module")
def customer_id(app) -> int:
    with Session(app.state.engine) as s:
        return s.exec(select(Customer.id).where(Customer.account_number == "C-1001")).one()


@pytest.fixture(scope="module")
def token(app) -> dict:
    from cases.api_tokens import issue_token
    from cases.users import User

    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.username == "agent")).one()
        _, secret = issue_token(s, user=user, name="crm", now=T0)
    return {"Authorization": f"Bearer {secret}"}


def counts(app) -> tuple[int, int, int, int]:
    with Session(app.state.engine) as s:
        return tuple(s.exec(select(func.count()).select_from(table)).one()
                     for table in (Case, WorkflowInstance, CaseEvent, Customer))


def post(client, customer_id, process_id=REFUND, **fields):
    csrf = csrf_from(client.get(f"/cases/new?customer_id={customer_id}").text)
    data = {"csrf_token": csrf, "customer_id": str(customer_id), "process_id": process_id,
            "channel": "phone", "priority": "0", "contacted_at": "2026-11-20T09:15",
            "start_form_of": process_id, **fields}
    return client.post("/cases/new", data={k: v for k, v in data.items() if v is not None},
                       follow_redirects=False)


def field_html(page: str, field_id: str) -> str:
    """The markup of one start-form field: from its wrapper to the next field's."""
    start = page.index(f'id="start-{field_id}"')
    start = page.rindex('<div class="field', 0, start)
    end = page.find('<div class="field', start + 1)
    return page[start:end if end != -1 else len(page)]


def test_the_new_case_page_draws_the_start_form_of_the_chosen_process(client, customer_id):
    page = client.get(f"/cases/new?customer_id={customer_id}&process_id={REFUND}").text
    assert "Refund request: what the process asks for first</legend>" in page
    assert f'name="start_form_of" value="{REFUND}"' in page
    amount = field_html(page, "refund_amount")
    assert 'name="start.refund_amount"' in amount and 'type="number"' in amount
    assert 'step="0.01"' in amount and 'inputmode="decimal"' in amount
    assert 'min="0.01"' in amount and 'max="5000"' in amount and "(required)" in amount
    assert 'step="0.5"' in field_html(page, "disputed_share")
    reason = field_html(page, "refund_reason")
    assert re.search(r'<label for="start-refund_reason">What went wrong', reason)
    assert '<textarea id="start-refund_reason" name="start.refund_reason"' in reason
    assert 'maxlength="1000"' in reason and "<input" not in reason
    method = field_html(page, "refund_method")  # a form-js radio: a radio group
    assert re.search(r'<input type="radio" id="start-refund_method-2" name="start.refund_method" '
                     r'value="credit"\s+checked', method)  # the form's default
    assert "<select" not in method
    plain = client.get(f"/cases/new?customer_id={customer_id}&process_id=dev_process").text
    assert "start_form_of" not in plain and "<fieldset" not in plain


def test_choosing_a_process_swaps_its_start_form_in(client, customer_id):
    page = client.get(f"/cases/new?customer_id={customer_id}").text
    assert 'hx-get="/cases/new/start-form"' in page and 'hx-target="#start-form"' in page
    fragment = client.get(f"/cases/new/start-form?process_id={REFUND}",
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'name="start.invoice_number"' in fragment.text
    none = client.get("/cases/new/start-form?process_id=dev_process",
                      headers={"HX-Request": "true"})
    assert none.status_code == 200 and none.text.strip() == ""
    unknown = client.get("/cases/new/start-form?process_id=nope", headers={"HX-Request": "true"})
    assert unknown.status_code == 200 and unknown.text.strip() == ""
    whole = client.get(f"/cases/new/start-form?process_id={REFUND}&customer_id={customer_id}",
                       follow_redirects=False)
    assert whole.status_code == 303
    assert whole.headers["location"] == (f"/cases/new?customer_id={customer_id}"
                                         f"&process_id={REFUND}")


def test_a_refused_start_form_names_each_field_keeps_the_input_and_stores_nothing(
        app, client, customer_id):
    before = counts(app)
    bad = {**GOOD, "start.invoice_number": "", "start.refund_amount": "42.505",
           "start.disputed_share": "12.3", "start.refund_reason": "Twice.\nReally <b>twice</b>",
           "start.urgent": None}
    r = post(client, customer_id, **bad)
    assert r.status_code == 400 and "The case was not opened; see below." in r.text
    assert counts(app) == before
    amount = field_html(r.text, "refund_amount")
    assert 'value="42.505"' in amount and 'aria-invalid="true"' in amount
    assert '<p class="field-msg" id="start-refund_amount-error">Enter at most 2 decimal places' \
        in amount
    assert "Enter a multiple of 0.5; the nearest are 12.0 and 12.5" in field_html(r.text,
                                                                             "disputed_share")
    assert "This field is required" in field_html(r.text, "invoice_number")
    reason = field_html(r.text, "refund_reason")
    assert ">Twice.\nReally &lt;b&gt;twice&lt;/b&gt;</textarea>" in reason  # kept, escaped
    assert "checked" not in field_html(r.text, "urgent")
    assert 'value="phone" selected' in r.text  # the case's own fields are kept too


def test_the_case_opens_with_the_start_form_values_as_its_data(app, client, customer_id):
    r = post(client, customer_id, **GOOD)
    assert r.status_code == 303, r.text
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    with Session(app.state.engine) as s:
        [item] = s.exec(select(WorkItem).where(WorkItem.case_id == case_id)).all()
        opened = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                CaseEvent.type == "case_opened")).one()
    assert item.element_id == "Task_ReviewRefund"
    assert json.loads(opened.details)["start_data"] == {
        "invoice_number": "INV-2026-0042", "invoice_date": "2026-11-03", "refund_amount": 42.5,
        "disputed_share": 12.5, "refund_reason": GOOD["start.refund_reason"],
        "refund_method": "bank", "urgent": True}
    page = client.get(f"/cases/{case_id}").text
    review = page[page.index(f'action="/cases/{case_id}/items/{item.id}/complete"'):]
    assert 'name="approved_amount"' in review and 'step="0.01"' in review
    assert f'<textarea id="i{item.id}-review_note" name="review_note"' in review
    csrf = csrf_from(page)
    version = re.search(r'name="expected_version" value="(\d+)"', review).group(1)
    refused = client.post(f"/cases/{case_id}/items/{item.id}/complete", data={
        "csrf_token": csrf, "expected_version": version, "approved_amount": "40.005",
        "review_note": "Half of it.\nThe rest was used."})
    assert refused.status_code == 400
    assert "Enter a multiple of 0.01; the nearest are 40.00 and 40.01" in html.unescape(
        refused.text)
    assert "Half of it.\nThe rest was used.</textarea>" in refused.text
    done = client.post(f"/cases/{case_id}/items/{item.id}/complete", follow_redirects=False,
                       data={"csrf_token": csrf, "expected_version": version,
                             "approved_amount": "40.05", "review_note": "Half of it."})
    assert done.status_code == 303
    with Session(app.state.engine) as s:
        names = {i.element_id for i in s.exec(select(WorkItem).where(
            WorkItem.case_id == case_id, WorkItem.state == "open")).all()}
    assert names == {"Task_PayRefund"}  # the gateway compared the decimal


def test_without_the_form_shown_the_page_asks_for_it_before_opening(app, client, customer_id):
    """Without JavaScript the form appears only after the process is chosen and sent."""
    before = counts(app)
    r = post(client, customer_id, start_form_of=None)
    assert r.status_code == 400 and counts(app) == before
    assert "This process asks for a few facts first" in r.text
    assert 'name="start.refund_amount"' in r.text and "field-msg" not in r.text


def test_a_process_without_a_start_form_opens_exactly_as_before(app, client, customer_id):
    r = post(client, customer_id, process_id="dev_process", start_form_of=None,
             **{"start.smuggled": "x"})
    assert r.status_code == 303, r.text
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    with Session(app.state.engine) as s:
        opened = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                CaseEvent.type == "case_opened")).one()
    assert "start_data" not in json.loads(opened.details)
    assert "smuggled" not in client.get(f"/api/cases/{case_id}").text


def test_the_api_checks_the_start_form_before_storing_a_customer(app, client, token):
    body = {"process_id": REFUND, "channel": "web",
            "customer": {"name": "New Person", "account_number": "C-2002"},
            "data": {"invoice_number": "IN1", "refund_amount": 12.345,
                     "refund_reason": "Overcharged", "refund_method": "bank"}}
    before = counts(app)
    r = client.post("/api/cases", json=body, headers=token)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["errors"] == {"invoice_number": "Enter at least 4 characters",
                                "refund_amount": "Enter at most 2 decimal places"}
    assert detail["message"].startswith("The start form refused the case's data")
    assert counts(app) == before  # no case, and no customer either
    body["data"].update(invoice_number="INV-0001", refund_amount=12.34)
    ok = client.post("/api/cases", json=body, headers=token)
    assert ok.status_code == 201, ok.text
    with Session(app.state.engine) as s:
        opened = s.exec(select(CaseEvent).where(CaseEvent.case_id == ok.json()["id"],
                                                CaseEvent.type == "case_opened")).one()
    assert json.loads(opened.details)["start_data"]["refund_amount"] == 12.34
    approved, note = ok.json()["work_items"][0]["form"]
    assert approved == {
        "id": "approved_amount", "label": "Approved amount (EUR)", "type": "double",
        "required": True, "values": None, "choices": None, "default": None, "readonly": False,
        "min": 0, "max": None, "minlength": None, "maxlength": None, "step": 0.01,
        "decimals": None, "multiline": False, "description": None, "prefix": None,
        "suffix": None, "widget": None}
    assert (note["id"], note["type"], note["multiline"], note["maxlength"]) == (
        "review_note", "string", True, 2000)


def test_the_designer_sees_the_start_form_on_the_version_page(app, client):
    with Session(app.state.engine) as s:
        from engine.store import DefinitionVersion

        ids = {v.process_id: v.id for v in s.exec(select(DefinitionVersion)).all()}
    page = client.get(f"/designer/versions/{ids[REFUND]}").text
    summary = page[page.index('id="start-form-summary"'):]
    summary = summary[:summary.index("</p>")]
    assert "Amount to refund (EUR)" in summary and "(double, required)" in summary
    assert "start-form-summary" not in client.get(f"/designer/versions/{ids['dev_process']}").text


# ---- help text, adorners, radio groups; what the case was opened with; the API's description ---

def test_help_text_and_adorners_are_drawn_and_named_for_screen_readers(client, customer_id):
    page = client.get(f"/cases/new?customer_id={customer_id}&process_id={REFUND}").text
    amount = field_html(page, "refund_amount")
    assert re.search(r'<div class="adorned">\s*<span class="adorner" id="start-refund_amount-'
                     r'prefix">EUR</span>\s*<input id="start-refund_amount"', amount)
    assert 'aria-describedby="start-refund_amount-prefix"' in amount
    reason = field_html(page, "refund_reason")
    assert '<p class="field-help" id="start-refund_reason-help">In the customer&#39;s words</p>' \
        in reason
    assert 'aria-describedby="start-refund_reason-help"' in reason
    assert "field-help" not in field_html(page, "invoice_number")  # no description, no help
    # Refused: the error joins the help text in what the field is described by.
    r = post(client, customer_id, **{**GOOD, "start.refund_reason": ""})
    assert r.status_code == 400
    assert ('aria-describedby="start-refund_reason-help start-refund_reason-error"'
            in field_html(r.text, "refund_reason"))


def test_a_radio_group_is_refused_at_its_legend_and_keeps_the_choice(client, customer_id):
    r = post(client, customer_id, **{**GOOD, "start.refund_method": None})
    assert r.status_code == 400
    method = field_html(r.text, "refund_method")
    assert re.search(r'<fieldset class="radio-group" id="start-refund_method" role="radiogroup" '
                     r'aria-required="true" aria-invalid="true" '
                     r'aria-describedby="start-refund_method-error">\s*<legend>Refund to', method)
    assert '<p class="field-msg" id="start-refund_method-error">This field is required' in method
    assert "checked" not in method  # nothing chosen, nothing pretended
    assert re.search(r'id="start-refund_method-1"[^>]*\s+autofocus>', method)
    kept = post(client, customer_id, **{**GOOD, "start.invoice_number": ""})
    assert re.search(r'value="bank"\s+checked', field_html(kept.text, "refund_method"))
    assert not re.search(r'value="credit"\s+checked', field_html(kept.text, "refund_method"))


def test_the_case_page_shows_what_the_case_was_opened_with(client, customer_id):
    r = post(client, customer_id, **GOOD)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert '<a href="#opened-with-h">Opened with</a>' in page
    card = page[page.index('<section class="card opened-with"'):]
    card = card[:card.index("</section>")]
    pairs = re.findall(r"<dt>(.*?)</dt><dd( class=\"long\")?>(.*?)</dd>", card, re.S)
    assert [(html.unescape(dt), bool(long), html.unescape(dd)) for dt, long, dd in pairs] == [
        ("Invoice number", False, "INV-2026-0042"), ("Invoice date", False, "2026-11-03"),
        ("Amount to refund (EUR)", False, "42.50"),
        ("Share of the invoice disputed (%)", False, "12.5"),
        ("What went wrong", True, "Billed twice for November.\nBoth invoices are on file."),
        ("Refund to", False, "Bank account"), ("Customer asked to hurry", False, "yes")]
    plain = post(client, customer_id, process_id="dev_process", start_form_of=None)
    assert "opened-with" not in client.get(plain.headers["location"]).text


def test_the_api_describes_the_start_form_and_its_example_opens_a_case(app, client, token,
                                                                     customer_id):
    r = client.get(f"/api/processes/{REFUND}/start-form", headers=token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["process_id"], body["version"], body["name"]) == (REFUND, 1, "Refund request")
    fields = {f["id"]: f for f in body["fields"]}
    assert list(fields) == ["invoice_number", "invoice_date", "refund_amount", "disputed_share",
                            "refund_reason", "refund_method", "urgent"]
    assert (fields["refund_amount"]["decimals"], fields["refund_amount"]["prefix"]) == (2, "EUR")
    assert fields["disputed_share"]["step"] == 0.5
    assert fields["refund_reason"]["multiline"] is True
    assert fields["refund_reason"]["description"] == "In the customer's words"
    assert fields["refund_method"]["widget"] == "radio"
    assert fields["refund_method"]["default"] == "credit"
    assert fields["refund_method"]["choices"] == [
        {"value": "bank", "label": "Bank account"},
        {"value": "credit", "label": "Credit on the next invoice"}]
    assert body["example_data"]["refund_amount"] == 0.01 and (
        body["example_data"]["invoice_number"] == "Example")
    # The example is a `data` POST /api/cases accepts.
    opened = client.post("/api/cases", headers=token, json={
        "process_id": REFUND, "channel": "web", "customer_id": customer_id,
        "data": body["example_data"]})
    assert opened.status_code == 201, opened.text
    with Session(app.state.engine) as s:
        version_id = s.exec(select(Case.definition_id).where(Case.id == opened.json()["id"])).one()
    detail = client.get(f"/api/definitions/{version_id}", headers=token).json()
    assert [f["id"] for f in detail["start_form"]] == list(fields)


def test_the_start_form_route_answers_for_every_process(client, token):
    plain = client.get("/api/processes/dev_process/start-form", headers=token)
    assert plain.status_code == 200
    assert (plain.json()["fields"], plain.json()["example_data"]) == ([], {})
    missing = client.get("/api/processes/nope/start-form", headers=token)
    assert missing.status_code == 404
    assert missing.json()["detail"]["message"] == "No active definition for process 'nope'"


def test_the_openapi_schema_documents_the_start_form_with_an_example(client):
    schema = client.get("/api/openapi.json").json()
    route = schema["paths"]["/api/processes/{process_id}/start-form"]["get"]
    assert "POST /api/cases" in route["description"]
    out = schema["components"]["schemas"]["StartFormOut"]
    [example] = out["examples"]
    assert example["example_data"]["refund_method"] == "bank"
    assert {"step", "decimals", "multiline", "description", "prefix", "widget", "choices"} <= set(
        schema["components"]["schemas"]["FormFieldOut"]["properties"])
    detail = schema["paths"]["/api/definitions/{definition_id}"]["get"]
    assert detail["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "DefinitionWithForm")
