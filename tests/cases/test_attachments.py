"""Attachments on cases (SQLite and PostgreSQL): files stream into a directory under a random
key, their kind is told from the bytes, every upload and delete is an audit event with its row,
and a file whose transaction failed is never left behind or named by a row."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases.attachments import service as attachments
from cases.attachments.content import download_name, DOCX, PDF
from cases.attachments.models import CaseAttachment
from cases.attachments.storage import AttachmentStore
from cases.audit import verify
from cases.case_service import open_case
from cases.errors import Conflict, Forbidden, InvalidInput, NotFound
from cases.events import CaseEvent
from cases.users import create_user
from tests.conftest import T0

PDF_BYTES = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 50 + b"%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def office_bytes(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path):
    return AttachmentStore(tmp_path / "attachments", max_bytes=64 * 1024)


@pytest.fixture
def case(session, install, people, customer):
    return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="install_service", channel="phone")


def _add(session, store, case, actor, data: bytes, name="letter.pdf", description=""):
    return attachments.add(session, actor=actor, now=T0, case_id=case.id,
                           source=io.BytesIO(data), filename=name, description=description,
                           store=store)


def _files(store) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


def _types(session, case) -> list[str]:
    return list(session.exec(select(CaseEvent.type).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.seq)).all())


def test_an_upload_is_stored_under_a_random_key_with_its_audit_event(session, store, case, people):
    row = _add(session, store, case, people.ann, PDF_BYTES, name="../../etc/Invoice March.pdf",
               description="Invoice the customer sent")
    assert (row.filename, row.content_type, row.size, row.uploaded_by) == (
        "Invoice March.pdf", "application/pdf", len(PDF_BYTES), "ann")
    [stored] = _files(store)
    assert stored == f"{row.storage_key[:2]}/{row.storage_key}", "named by key, not by the user"
    assert store.path_of(row.storage_key).read_bytes() == PDF_BYTES
    event = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                 CaseEvent.type == "attachment_added")).one()
    details = json.loads(event.details)
    assert (details["attachment_id"], details["filename"], details["size"], event.actor) == (
        row.id, "Invoice March.pdf", len(PDF_BYTES), "ann")
    assert details["sha256"] == row.sha256 and len(row.sha256) == 64
    assert verify(session, case.id) == []
    assert [a.id for a in attachments.list_for_case(session, case.id)] == [row.id]


ALLOWED = [
    (PNG_BYTES, "photo.PNG", "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "meter.jpeg", "image/jpeg"),
    (b"GIF89a" + b"\x01" * 32, "a.gif", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "a.webp", "image/webp"),
    ("Kunde rief an: Zähler defekt\r\n\tbitte prüfen\n".encode(), "call.txt",
     "text/plain; charset=utf-8"),
    (office_bytes("word/document.xml"), "quote.docx", DOCX.content_type),
    (office_bytes("xl/workbook.xml"), "sheet.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
]
REFUSED = [
    (b"", "empty.pdf", "empty"),
    (b"MZ\x90\x00\x03" + b"\x00" * 100, "invoice.pdf", "cannot be attached"),
    (b"\x00\x01binary\xff\xfe", "notes.txt", "cannot be attached"),
    (office_bytes("other/thing.xml"), "archive.docx", "cannot be attached"),
    (b"%PDF-" + b"x" * (64 * 1024), "huge.pdf", "larger than 64 KB"),
]


def test_each_allowed_kind_is_told_from_its_content(session, store, case, people):
    for data, name, kind in ALLOWED:
        assert _add(session, store, case, people.ann, data, name=name).content_type == kind, name


def test_refused_files_leave_nothing_behind(session, store, case, people):
    before = _types(session, case)
    for data, name, words in REFUSED:
        with pytest.raises(InvalidInput, match=words) as refused:
            _add(session, store, case, people.ann, data, name=name)
        assert list(refused.value.errors) == ["file"]
        assert _files(store) == [], f"{name}: no temporary or stored file is left"
    assert session.exec(select(CaseAttachment)).all() == []
    assert _types(session, case) == before


def test_html_is_never_taken_for_something_else(session, store, case, people):
    row = _add(session, store, case, people.ann, b"<html><script>alert(1)</script></html>",
               name="invoice.html")
    assert row.content_type == "text/plain; charset=utf-8", "text, served only as text"
    assert download_name(row.filename, PDF) == "invoice.html.pdf"
    assert download_name("scan.PDF", PDF) == "scan.PDF"


def test_the_description_and_the_case_are_checked_before_anything_is_stored(session, store, case,
                                                                             people):
    with pytest.raises(InvalidInput, match="description"):
        _add(session, store, case, people.ann, PDF_BYTES, description="x" * 501)
    with pytest.raises(NotFound, match="No case 999"):
        attachments.add(session, actor=people.ann, now=T0, case_id=999,
                        source=io.BytesIO(PDF_BYTES), filename="a.pdf", store=store)
    designer = create_user(session, username="des", password="correct horse", role="designer",
                           now=T0)
    session.commit()
    with pytest.raises(Forbidden, match="designer"):
        _add(session, store, case, designer, PDF_BYTES)
    assert _files(store) == []


def test_the_uploader_or_a_supervisor_deletes_with_a_reason(session, store, case, people):
    mine = _add(session, store, case, people.ann, PDF_BYTES)
    other = _add(session, store, case, people.ann, PNG_BYTES, name="p.png")
    with pytest.raises(Forbidden, match="Only the person who attached"):
        attachments.delete(session, actor=people.bob, now=T0, case_id=case.id,
                           attachment_id=mine.id, reason="not needed", store=store)
    with pytest.raises(InvalidInput, match="Say why"):
        attachments.delete(session, actor=people.ann, now=T0, case_id=case.id,
                           attachment_id=mine.id, reason="  ", store=store)
    later = T0 + timedelta(minutes=5)
    gone = attachments.delete(session, actor=people.ann, now=later, case_id=case.id,
                              attachment_id=mine.id, reason="Wrong customer's invoice",
                              store=store)
    assert (gone.deleted_by, gone.deleted_at, gone.delete_reason) == (
        "ann", later, "Wrong customer's invoice")
    assert not store.path_of(mine.storage_key).exists()
    attachments.delete(session, actor=people.sam, now=later, case_id=case.id,
                       attachment_id=other.id, reason="Duplicate photo", store=store)
    assert _files(store) == []
    with pytest.raises(NotFound):
        attachments.get(session, case_id=case.id, attachment_id=mine.id)
    with pytest.raises(NotFound):  # deleting twice finds nothing to delete
        attachments.delete(session, actor=people.sam, now=later, case_id=case.id,
                           attachment_id=mine.id, reason="again", store=store)
    assert _types(session, case)[-4:] == ["attachment_added", "attachment_added",
                                          "attachment_deleted", "attachment_deleted"]
    assert attachments.list_for_case(session, case.id) == []
    assert len(attachments.list_for_case(session, case.id, include_deleted=True)) == 2
    assert verify(session, case.id) == []


def test_an_attachment_of_another_case_is_not_found(session, store, case, people, customer):
    row = _add(session, store, case, people.ann, PDF_BYTES)
    second = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                       process_id="install_service", channel="phone")
    with pytest.raises(NotFound):
        attachments.get(session, case_id=second.id, attachment_id=row.id)


@SQLITE_ONLY
def test_a_commit_that_fails_leaves_no_file_and_no_row(session, store, case, people):
    # A real constraint the database checks only at COMMIT: every attachment row inserts a row
    # pointing nowhere, under a deferred foreign key. The upload's flush passes, the file is
    # moved into place, then the commit fails: the file must go again.
    with session.get_bind().begin() as conn:
        conn.execute(sa.text("CREATE TABLE commit_guard (ref INTEGER REFERENCES case_record(id) "
                             "DEFERRABLE INITIALLY DEFERRED)"))
        conn.execute(sa.text("CREATE TRIGGER guard AFTER INSERT ON case_attachment BEGIN "
                             "INSERT INTO commit_guard VALUES (-1); END"))
    with pytest.raises((Conflict, sa.exc.IntegrityError)):
        _add(session, store, case, people.ann, PDF_BYTES)
    assert _files(store) == []
    assert session.exec(select(CaseAttachment)).all() == []
    assert "attachment_added" not in _types(session, case)
