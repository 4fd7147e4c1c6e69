"""Attachments through the case page and the JSON API (TestClient, a real SQLite file and a real
attachment directory): upload, list, download as an attachment only, delete with a reason."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.attachments.models import CaseAttachment
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.settings import Settings
from cases.users import User, create_user
from tests.conftest import DATA, T0, fresh_sqlite
from tests.web.conftest import PASSWORD, csrf_from, sign_in
from web.app import create_app

PDF = b"%PDF-1.7\n" + b"0" * 2000 + b"\n%%EOF\n"
MAX = 4096


@pytest.fixture
def app(tmp_path):
    url = fresh_sqlite(tmp_path / 'web.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40,
                              attachment_dir=tmp_path / "files", attachment_max_bytes=MAX))
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        agent = create_user(s, username="agent", password=PASSWORD, role="agent", now=T0,
                            display_name="Ann Agent", teams=["Customer Care"])
        create_user(s, username="other", password=PASSWORD, role="agent", now=T0,
                    teams=["Billing"])
        create_user(s, username="supervisor", password=PASSWORD, role="supervisor", now=T0)
        s.commit()
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-1")
        app.state.case_id = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                                      process_id="dev_process", channel="phone").id
    yield app
    app.state.engine.dispose()



def _signed_in(client, username="agent") -> str:
    assert sign_in(client, username).status_code == 303
    return csrf_from(client.get(f"/cases/{client.app.state.case_id}").text)


def _rows(app) -> list[CaseAttachment]:
    with Session(app.state.engine) as s:
        return list(s.exec(select(CaseAttachment).order_by(CaseAttachment.id)).all())


def _files(app) -> list:
    return [p for p in app.state.settings.attachment_dir.rglob("*") if p.is_file()]


def test_upload_on_the_case_page_then_download_as_an_attachment(client, app):
    csrf, case_id = _signed_in(client), app.state.case_id
    answer = client.post(f"/cases/{case_id}/attachments", follow_redirects=False,
                         data={"csrf_token": csrf, "description": "Signed order form"},
                         files={"file": ("order form.pdf", PDF, "text/html")})
    assert answer.status_code == 303 and answer.headers["location"].endswith("#attachments")
    page = client.get(f"/cases/{case_id}").text
    [row] = _rows(app)
    assert f'href="/cases/{case_id}/attachments/{row.id}"' in page
    assert "order form.pdf" in page and "Signed order form" in page
    section = page[page.index("attachment-list"):page.index("upload-form")]
    assert "PDF, 2 KB · added by Ann Agent" in section, section
    assert "Attached order form.pdf." in page  # the flash
    assert "Ann Agent attached “order form.pdf”: Signed order form" in page  # the timeline
    got = client.get(f"/cases/{case_id}/attachments/{row.id}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf", "the content decides, not the browser"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "order%20form.pdf" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"


def test_html_is_stored_and_served_only_as_plain_text(client, app):
    csrf, case_id = _signed_in(client), app.state.case_id
    client.post(f"/cases/{case_id}/attachments", data={"csrf_token": csrf},
                files={"file": ("x.html", b"<script>alert(1)</script>", "text/html")})
    [row] = _rows(app)
    got = client.get(f"/cases/{case_id}/attachments/{row.id}")
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["content-disposition"] == 'attachment; filename="x.html.txt"'


def test_htmx_gets_the_section_back_and_refusals_say_what_is_wrong(client, app):
    csrf, case_id = _signed_in(client), app.state.case_id
    htmx = {"HX-Request": "true"}
    answer = client.post(f"/cases/{case_id}/attachments", headers=htmx,
                         data={"csrf_token": csrf, "description": "Meter photo"},
                         files={"file": ("meter.png", b"\x89PNG\r\n\x1a\n" + b"1" * 40,
                                         "image/png")})
    assert answer.status_code == 200 and answer.text.lstrip().startswith("{#") is False
    assert '<section class="card attachments" id="attachments"' in answer.text
    assert "<html" not in answer.text and "Attached meter.png." in answer.text
    refused = client.post(f"/cases/{case_id}/attachments", headers=htmx,
                          data={"csrf_token": csrf, "description": "exe"},
                          files={"file": ("photo.png", b"MZ\x90\x00" + b"\x00" * 64,
                                          "image/png")})
    assert refused.status_code == 400
    assert "This kind of file cannot be attached" in refused.text
    assert 'value="exe"' in refused.text, "the typed description comes back"
    too_big = client.post(f"/cases/{case_id}/attachments", data={"csrf_token": csrf},
                          files={"file": ("big.pdf", b"%PDF-" + b"0" * MAX, "application/pdf")})
    assert too_big.status_code == 400 and "larger than 4 KB" in too_big.text
    assert 'role="alert"' in too_big.text
    none = client.post(f"/cases/{case_id}/attachments", data={"csrf_token": csrf})
    assert none.status_code == 400 and "Choose a file to attach" in none.text
    assert len(_rows(app)) == 1 and len(_files(app)) == 1


def test_the_uploader_or_a_supervisor_deletes_with_a_reason(client, app):
    csrf, case_id = _signed_in(client), app.state.case_id
    for name in ("a.pdf", "b.pdf"):
        client.post(f"/cases/{case_id}/attachments", data={"csrf_token": csrf},
                    files={"file": (name, PDF, "application/pdf")})
    first, second = _rows(app)
    with TestClient(app) as other:
        other_csrf = _signed_in(other, "other")
        page = other.get(f"/cases/{case_id}").text
        assert "Delete a.pdf" not in page, "no delete button for someone else's file"
        refused = other.post(f"/cases/{case_id}/attachments/{first.id}/delete",
                             data={"csrf_token": other_csrf, "reason": "mine now"})
        assert refused.status_code == 403
    no_reason = client.post(f"/cases/{case_id}/attachments/{first.id}/delete",
                            data={"csrf_token": csrf, "reason": ""})
    assert no_reason.status_code == 400 and "Say why the file is deleted" in no_reason.text
    done = client.post(f"/cases/{case_id}/attachments/{first.id}/delete", follow_redirects=False,
                       data={"csrf_token": csrf, "reason": "Wrong customer"})
    assert done.status_code == 303
    assert client.get(f"/cases/{case_id}/attachments/{first.id}").status_code == 404
    with TestClient(app) as sup:
        sup_csrf = _signed_in(sup, "supervisor")
        assert sup.post(f"/cases/{case_id}/attachments/{second.id}/delete",
                        data={"csrf_token": sup_csrf, "reason": "Duplicate"}).status_code == 200
    assert _files(app) == []
    page = client.get(f"/cases/{case_id}").text
    assert "Ann Agent deleted the attachment “a.pdf”: Wrong customer" in page
    with Session(app.state.engine) as s:
        types = [e.type for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                        .order_by(CaseEvent.seq)).all()]
    assert types[-4:] == ["attachment_added", "attachment_added", "attachment_deleted",
                          "attachment_deleted"]


def test_a_designer_may_not_upload(client, app):
    with Session(app.state.engine) as s:
        create_user(s, username="des", password=PASSWORD, role="designer", now=T0)
        s.commit()
    sign_in(client, "des")
    csrf = csrf_from(client.get("/designer").text)
    answer = client.post(f"/cases/{app.state.case_id}/attachments", data={"csrf_token": csrf},
                         files={"file": ("a.pdf", PDF, "application/pdf")})
    assert answer.status_code == 403 and _files(app) == []


@pytest.fixture
def token(app):
    from cases.api_tokens import issue_token

    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        _, secret = issue_token(s, user=agent, name="CRM", now=T0)
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_uploads_lists_downloads_and_deletes(client, app, token):
    base = f"/api/cases/{app.state.case_id}/attachments"
    made = client.post(base, headers=token, data={"description": "Invoice"},
                       files={"file": ("inv.pdf", PDF, "application/octet-stream")})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["filename"], body["content_type"], body["size"], body["uploaded_by"],
            body["description"]) == ("inv.pdf", "application/pdf", len(PDF), "agent", "Invoice")
    assert "storage_key" not in body
    listed = client.get(base, headers=token).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == body["id"]
    assert client.get(f"{base}/{body['id']}", headers=token).json()["sha256"] == body["sha256"]
    got = client.get(body["download_url"], headers=token)
    assert got.content == PDF and got.headers["content-disposition"].startswith("attachment")
    refused = client.post(base, headers=token, files={"file": ("a.txt", b"\x00\x01\x02", "text/plain")})
    assert refused.status_code == 422
    assert "cannot be attached" in refused.json()["detail"]["errors"]["file"]
    no_reason = client.delete(f"{base}/{body['id']}", headers=token)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]["errors"]
    gone = client.delete(f"{base}/{body['id']}", params={"reason": "Sent twice"}, headers=token)
    assert gone.status_code == 200 and gone.json()["delete_reason"] == "Sent twice"
    assert gone.json()["download_url"] is None
    assert client.get(body["download_url"], headers=token).status_code == 404
    assert client.get(base, headers=token).json()["count"] == 0
    assert client.get(base, params={"include_deleted": "true"}, headers=token).json()["count"] == 1
    assert client.get("/api/cases/999/attachments", headers=token).status_code == 404
    assert client.post("/api/cases/999/attachments", headers=token,
                       files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 404
    assert _files(app) == []
