"""API tokens note when they were last used, but at most once a minute (SQLite, PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from cases.api_tokens import LAST_USED_EVERY, ApiToken, issue_token, revoke_token, user_for_token
from cases.users import create_user
from tests.conftest import T0


def _last_used(engine, token_id):
    with Session(engine) as s:
        return s.get(ApiToken, token_id).last_used_at


def _writes(engine, calls):
    """Run `calls` and return the UPDATE statements they sent to api_token."""
    sent = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.startswith("UPDATE api_token"):
            sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        calls()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    return sent


def test_last_used_moves_at_most_once_a_minute(db_engine):
    with Session(db_engine, expire_on_commit=False) as s:
        user = create_user(s, username="crm", password="correct horse", role="agent", now=T0)
        s.commit()
        token, secret = issue_token(s, user=user, name="CRM", now=T0)
    assert _last_used(db_engine, token.id) is None

    def use(at):
        with Session(db_engine) as s:
            assert user_for_token(s, secret, now=at).username == "crm"

    # The first use is noted; the uses within the next minute write nothing.
    assert len(_writes(db_engine, lambda: use(T0 + timedelta(seconds=1)))) == 1
    assert _last_used(db_engine, token.id) == T0 + timedelta(seconds=1)
    quiet = _writes(db_engine, lambda: [use(T0 + timedelta(seconds=s)) for s in (2, 30, 60)])
    assert quiet == []
    assert _last_used(db_engine, token.id) == T0 + timedelta(seconds=1)
    # A minute after the last note, the next use is noted again.
    later = T0 + timedelta(seconds=1) + LAST_USED_EVERY
    assert len(_writes(db_engine, lambda: use(later))) == 1
    assert _last_used(db_engine, token.id) == later


def test_a_revoked_token_is_refused_whatever_its_last_use(db_engine):
    with Session(db_engine, expire_on_commit=False) as s:
        user = create_user(s, username="crm", password="correct horse", role="agent", now=T0)
        s.commit()
        token, secret = issue_token(s, user=user, name="CRM", now=T0)
        assert user_for_token(s, secret, now=T0) is not None
        revoke_token(s, token_id=token.id, now=T0 + timedelta(seconds=5))
    with Session(db_engine) as s:
        assert user_for_token(s, secret, now=T0 + timedelta(seconds=6)) is None
