"""Uploading a process with its DMN decision tables and Camunda forms through the designer's page,
a changed table on its own, the read-only table page, and refusals that store nothing."""
from __future__ import annotations

from sqlmodel import Session, select

from engine.dmn_store import DefinitionFile, ModelFile
from tests.conftest import DATA

from .designer_helpers import signed_in, versions

SET = DATA / "camunda_set"
FILES = ("credit_check.bpmn", "credit_limit.dmn", "application.form", "confirm_offer.form")


def _upload(client, token, files):
    return client.post("/designer/upload", data={"csrf_token": token},
                       files=[("file", (name, data, "application/octet-stream"))
                              for name, data in files], follow_redirects=False)


def _set():
    return [(name, (SET / name).read_bytes()) for name in FILES]


def _rows(app):
    with Session(app.state.engine) as s:
        return (list(s.exec(select(ModelFile).order_by(ModelFile.id)).all()),
                list(s.exec(select(DefinitionFile)).all()))


def test_a_camunda_modeler_set_is_stored_as_one_draft_with_its_files_pinned(app, client):
    token = signed_in(client, "designer")
    response = _upload(client, token, _set())
    assert response.status_code == 303, response.text
    version = versions(app)[-1]
    assert (version.process_id, version.status) == ("Process_CreditCheck", "draft")
    files, pins = _rows(app)
    assert sorted((f.kind, f.key, f.version) for f in files) == [
        ("dmn", "Decision_CreditLimit", 1), ("form", "Form_Application", 1),
        ("form", "Form_ConfirmOffer", 1)]
    assert {p.definition_id for p in pins} == {version.id} and len(pins) == 3
    page = client.get(response.headers["location"]).text
    assert "Decision table Decision_CreditLimit v1" in page
    assert "Credit score" in page  # the Camunda form's fields in the steps table
    table = client.get(f"/designer/files/{files[0].id}")
    assert table.status_code == 200
    assert "Existing customers get more" in table.text and "data-dmn-url" in table.text
    content = client.get(f"/designer/files/{files[0].id}/content")
    assert content.headers["content-type"].startswith("application/xml")
    assert b"Decision_CreditLimit" in content.content
    form = client.get(f"/designer/files/{files[1].id}").text
    assert "Applicant&#39;s name" in form or "Applicant's name" in form


def test_a_changed_table_on_its_own_gives_the_process_a_new_draft(app, client):
    token = signed_in(client, "designer")
    assert _upload(client, token, _set()).status_code == 303
    first = versions(app)[-1]
    changed = (SET / "credit_limit.dmn").read_bytes().replace(b"<text>500</text>",
                                                              b"<text>750</text>")
    response = _upload(client, token, [("credit_limit.dmn", changed)])
    assert response.status_code == 303, response.text
    second = versions(app)[-1]
    assert second.process_id == first.process_id and second.version == first.version + 1
    assert second.bpmn_xml == first.bpmn_xml and second.content_hash != first.content_hash
    files, pins = _rows(app)
    v2 = next(f for f in files if f.kind == "dmn" and f.version == 2)
    assert {(p.definition_id, p.model_file_id) for p in pins if p.model_file_id == v2.id} == {
        (second.id, v2.id)}
    compared = client.get(f"/designer/compare?left={first.id}&right={second.id}").text
    assert "but their decision tables or forms do" in compared
    assert "Decision_CreditLimit" in compared and ">v1</a>" in compared and ">v2</a>" in compared
    again = _upload(client, token, [("credit_limit.dmn", changed)])
    assert again.status_code == 303 and len(versions(app)) == len([*versions(app)])
    assert versions(app)[-1].id == second.id  # the same bytes again store nothing new


def test_an_upload_with_a_bad_table_stores_nothing_and_names_element_and_line(app, client):
    token = signed_in(client, "designer")
    before = len(versions(app))
    bad = (SET / "credit_limit.dmn").read_bytes().replace(b"&gt;= 400", b"[400..1000]")
    response = _upload(client, token, [*_set()[:1], ("credit_limit.dmn", bad),
                                       *_set()[2:]])
    assert response.status_code == 422
    assert "credit_limit.dmn" in response.text and "UnaryTests_3" in response.text
    assert "FEEL range" in response.text
    assert len(versions(app)) == before and _rows(app) == ([], [])


def test_a_process_without_its_table_is_refused_and_a_stranger_file_too(app, client):
    token = signed_in(client, "designer")
    response = _upload(client, token, [_set()[0], _set()[2]])
    assert response.status_code == 422 and "Decision_CreditLimit" in response.text
    response = _upload(client, token, [_set()[1], ("notes.txt", b"hello")])
    assert response.status_code == 422 and "notes.txt" in response.text
    assert _rows(app) == ([], [])


def test_agents_may_look_at_a_table_but_not_upload(app, client):
    token = signed_in(client, "designer")
    assert _upload(client, token, _set()).status_code == 303
    files, _ = _rows(app)
    client.post("/logout", data={"csrf_token": token})
    token = signed_in(client, "agent")
    assert client.get(f"/designer/files/{files[0].id}").status_code == 200
    assert _upload(client, token, _set()).status_code == 403
    assert client.get("/designer/files/999").status_code == 404
