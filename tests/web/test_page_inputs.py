"""Hostile input to the pages is a 400 naming the field (404 for an address), never a 500.

The same attacks as tests/web/test_inputs.py, through HTML forms and query strings, on SQLite
and PostgreSQL: NUL bytes, text past its column, ids and page numbers past the integer columns,
far-future datetimes.
"""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, T0
from tests.web.conftest import PASSWORD, csrf_from
from web.app import create_app

BIG, PG_BIG = 2**63, 2**31


@pytest.fixture
def pages(db_url):
    """A supervisor's browser (every workspace page is open to them) with one open case."""
    app = create_app(Settings(database_url=db_url, secret_key="x" * 40))
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        create_user(s, username="sup", password=PASSWORD, role="supervisor", now=T0,
                    teams=["Customer Care"])
        s.commit()
    with TestClient(app, raise_server_exceptions=False) as client:
        token = csrf_from(client.get("/login").text)
        signed = client.post("/login", data={"username": "sup", "password": PASSWORD,
                                             "csrf_token": token, "next": "/"})
        assert signed.status_code == 200, signed.text
        client.csrf = csrf_from(client.get("/customers").text)
        client.post("/customers", data={"name": "Ada Byrne", "account_number": "C-1",
                                        "csrf_token": client.csrf})
        opened = client.post("/cases/new", data={
            "customer_id": "1", "process_id": "dev_process", "channel": "phone",
            "priority": "0", "contacted_at": "2026-03-02T09:00", "csrf_token": client.csrf},
            follow_redirects=False)
        assert opened.status_code == 303, opened.text
        client.case_url = opened.headers["location"]
        yield client
    app.state.engine.dispose()


def _says(answer, status: int, *words: str) -> None:
    assert answer.status_code == status, answer.text[:500]
    for word in words:
        assert word in answer.text, (word, answer.text[:2000])


@pytest.mark.parametrize("url", [
    f"/cases/{PG_BIG}", f"/cases/{BIG}", f"/cases/{BIG}/diagram.bpmn", f"/customers/{BIG}",
    f"/customers/{PG_BIG}", f"/designer/versions/{BIG}", f"/designer/versions/{PG_BIG}/bpmn",
    f"/insights/versions/{BIG}", f"/insights/versions/{PG_BIG}/heatmap", "/cases/0",
])
def test_addresses_past_the_integer_columns_are_not_found(pages, url):
    _says(pages.get(url), 404, "No such page")


@pytest.mark.parametrize("url, field", [
    (f"/work?page={BIG}", "page"), (f"/approvals?page={BIG}", "page"),
    ("/work?process=dev%00", "process"), ("/customers?q=Ada%00", "q"),
    ("/cases/new?q=Ada%00", "q"), ("/customers?q=" + "A" * 1001, "q"),
    (f"/designer/compare?left={BIG}&right=1", "left"),
    ("/insights/versions/1?team=Care%00", "team"),
    ("/insights/trends?agent=x%00", "agent"), ("/insights/export?process=x%00", "process"),
])
def test_query_values_that_cannot_be_stored_are_a_400_naming_them(pages, url, field):
    _says(pages.get(url), 400, field)


def test_ids_in_forms_past_the_integer_columns_are_named(pages):
    answer = pages.get(f"/cases/new?customer_id={BIG}")
    _says(answer, 404, "No customer")
    answer = pages.get(f"/designer/migrate?from={BIG}&to=1")
    _says(answer, 400, "Choose the version to move cases from")


def _post(pages, url: str, **data):
    return pages.post(url, data={**data, "csrf_token": pages.csrf}, follow_redirects=False)


def test_new_customer_fields_longer_than_their_columns_are_named(pages):
    answer = _post(pages, "/customers", name="N" * 256, account_number="C-2", phone="5" * 65)
    _says(answer, 400, "Keep it to 255 characters", "Keep it to 64 characters")


def test_nul_in_any_form_field_is_a_400_naming_it(pages):
    _says(_post(pages, "/customers", name="Ada\x00", account_number="C-3"), 400, "name", "NUL")
    _says(_post(pages, f"{pages.case_url}/notes", text="called\x00back"), 400, "text", "NUL")
    version = re.search(r'name="expected_version" value="(\d+)"', pages.get(pages.case_url).text)
    _says(_post(pages, f"{pages.case_url}/deviations/hold", expected_version=version.group(1),
                reason_code="customer_away", note="away\x00"), 400, "note")


def test_deviation_fields_past_their_columns_and_far_dates_are_named(pages):
    version = re.search(r'name="expected_version" value="(\d+)"',
                        pages.get(pages.case_url).text).group(1)
    long_title = _post(pages, f"{pages.case_url}/deviations/add_task", expected_version=version,
                       reason_code="customer_away", note="n", title="T" * 256)
    _says(long_title, 400, "Keep it to 255 characters")
    far = _post(pages, f"{pages.case_url}/deviations/extend_deadline", expected_version=version,
                reason_code="customer_away", note="n", due_at="9999-12-31T23:59")
    _says(far, 400, "between the years 1900 and 2200")


def test_a_new_case_with_a_far_first_contact_or_huge_customer_id_is_named(pages):
    far = _post(pages, "/cases/new", customer_id="1", process_id="dev_process", channel="phone",
                priority="0", contacted_at="9999-01-01T00:00")
    _says(far, 400, "between the years 1900 and 2200")
    huge = _post(pages, "/cases/new", customer_id=str(BIG), process_id="dev_process",
                 channel="phone", priority="0", contacted_at="2026-03-02T09:00")
    _says(huge, 400, "Choose the customer first")
    long_id = _post(pages, "/cases/new", customer_id="1", process_id="p" * 256, channel="phone",
                    priority="0", contacted_at="2026-03-02T09:00")
    _says(long_id, 400, "Keep it to 255 characters")


def test_a_nul_in_the_sign_in_form_is_refused_not_a_500(pages):
    pages.post("/logout", data={"csrf_token": pages.csrf})
    token = csrf_from(pages.get("/login").text)
    answer = pages.post("/login", data={"username": "sup\x00", "password": PASSWORD,
                                        "csrf_token": token, "next": "/"})
    assert 400 <= answer.status_code < 500, answer.text[:300]
