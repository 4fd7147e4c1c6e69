"""Case search on SQLite (FTS5) and PostgreSQL (tsvector): number, customer, notes, case data."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cases.case_models import WorkItem
from cases.case_service import complete_step, open_case
from cases.customers import create_customer
from cases.errors import InvalidInput
from cases.notes import add_note
from cases.search.index import document, reindex_all
from cases.search.models import CaseSearch
from cases.search.service import search
from tests.conftest import T0

ORDER = {"customer_id": "C-1001", "product": "fibre_broadband",
         "installation_address": "12 Harbour Road, Kinsale", "contact_phone": "+353 1 555",
         "requested_date": "2026-03-10"}


def _ids(found) -> list[int]:
    return [h.case.id for h in found.hits]


@pytest.fixture
def cases(session, install, people, customer):
    """Ada's case (order captured, a note), Brian's case (fresh), both of Customer Care."""
    ada = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                    process_id="install_service", channel="phone")
    item = session.exec(select(WorkItem).where(WorkItem.case_id == ada.id)).one()
    complete_step(session, actor=people.ann, now=T0 + timedelta(minutes=5), case_id=ada.id,
                  work_item_id=item.id, expected_version=ada.row_version, data=ORDER)
    add_note(session, actor=people.ann, now=T0 + timedelta(minutes=6), case_id=ada.id,
             text="Customer mentioned the landlord must approve drilling")
    brian = create_customer(session, actor="bob", now=T0, name="Brian Walsh",
                            account_number="W-2002")
    other = open_case(session, actor=people.bob, now=T0, customer_id=brian.id,
                      process_id="install_service", channel="web")
    return ada, other


SEARCHES = [
    ("Ada", "ada"), ("byrne", "ada"), ("C-1001", "ada"), ("1001", "ada"), ("W-2002", "brian"),
    ("landlord drilling", "ada"),          # a note
    ("Harbour Road", "ada"),               # case data from a completed step
    ("\"harbour road\" kinsale", "ada"),   # a phrase and a word
    ("approved", "ada"),                   # stemming: the note says "approve"
    ("walsh or byrne", "both"),
    ("install -walsh", "ada"),             # both are installs; one left out
]


def test_finds_cases_by_customer_notes_and_data(session, people, cases):
    ada, brian = cases
    wrong = []
    for text, which in SEARCHES:
        want = {"ada": [ada.id], "brian": [brian.id], "both": sorted([ada.id, brian.id])}[which]
        got = sorted(_ids(search(session, actor=people.sam, text=text)))
        if got != want:
            wrong.append(f"{text!r}: found {got}, expected {want}")
    assert not wrong


def test_case_number_comes_first(session, people, cases):
    ada, brian = cases
    for text in (str(brian.id), f"#{brian.id}", f"case {brian.id}"):
        assert _ids(search(session, actor=people.sam, text=text))[0] == brian.id


def test_an_agent_finds_only_cases_of_their_teams(session, people, cases):
    ada, _ = cases
    assert _ids(search(session, actor=people.ann, text="Ada")) == [ada.id]  # Customer Care
    assert _ids(search(session, actor=people.fran, text="Ada")) == []       # Field/Network
    assert _ids(search(session, actor=people.fran, text=str(ada.id))) == []


def test_a_rolled_back_change_leaves_the_document_as_it_was(session, people, cases):
    ada, _ = cases
    before = session.get(CaseSearch, ada.id).body
    from cases import events
    from cases.case_models import Case

    events.record(session, session.get(Case, ada.id), "note_added", actor="ann", at=T0,
                  details={"text": "never stored"})
    session.rollback()
    assert session.get(CaseSearch, ada.id, populate_existing=True).body == before
    assert search(session, actor=people.sam, text="never stored").count == 0


def test_a_search_with_nothing_to_look_for_is_refused(session, people, cases):
    for text in ["", "   ", "-everything", "!!!", '"', "x" * 201]:
        with pytest.raises(InvalidInput) as err:
            search(session, actor=people.sam, text=text)
        assert "q" in err.value.errors


def test_search_syntax_in_the_input_is_taken_as_words(session, people, cases):
    for text in ['"ada', 'NEAR(a b)', 'a AND OR NOT', "col:val", "a*", "^x", "((ada", "body:ada"]:
        search(session, actor=people.sam, text=text)  # no FTS5 or tsquery syntax error


def test_reindex_rebuilds_every_document(session, people, cases):
    ada, brian = cases
    session.exec(select(CaseSearch))
    from sqlalchemy import delete

    session.execute(delete(CaseSearch))
    session.commit()
    assert search(session, actor=people.sam, text="Ada").count == 0
    assert reindex_all(session) == 2
    assert _ids(search(session, actor=people.sam, text="Ada")) == [ada.id]
    assert "Harbour Road" in document(session, ada.id)


def test_0012_downgrades_and_upgrade_backfills_every_document(db_url, db_engine, session, people,
                                                              cases):
    import sqlalchemy as sa
    from alembic import command

    from tests.cases.test_migrations import _config

    ada, _ = cases
    session.close()
    command.downgrade(_config(db_url), "0012_attach")
    tables = set(sa.inspect(db_engine).get_table_names())
    assert not {"case_search", "saved_filter", "case_search_fts"} & tables
    command.upgrade(_config(db_url), "head")
    with db_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM case_search")).scalar() == 2
    assert _ids(search(session, actor=people.sam, text="landlord Harbour")) == [ada.id]
