"""Sign-in on the case layer: password strength, sessions, throttling (SQLite, PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from cases.auth.passwords import generate_password, password_problem
from cases.auth.sessions import UserSession, end_session, session_user
from cases.auth.signin import SignInRefused, sign_in
from cases.auth.throttle import Limits, SigninFailure
from cases.cli import app as cli
from cases.errors import CaseError
from cases.users import create_user, set_password
from tests.conftest import T0

GOOD = "violet kettle across"
LIMITS = Limits(per_account=3, per_address=5, window=timedelta(minutes=10))
HOURS_8 = timedelta(hours=8)
IDLE = timedelta(minutes=30)


@pytest.mark.parametrize(("password", "reason"), [
    ("12345678", "at least 12 characters (this one has 8); this is a top-10 common password"),
    ("password", "this is a top-10 common password"),
    (" " * 8, "at least 12 characters"),
    (" " * 14, "cannot be only spaces"),
    ("password1234", "too easy to guess: this is a very common password"),
    ("qwertyuiop12", "too easy to guess"),
    ("dana-dana-dana", "too easy to guess"),
])
def test_weak_passwords_are_refused_with_the_reason(session, password, reason):
    with pytest.raises(CaseError) as refused:
        create_user(session, username="dana", password=password, role="designer", now=T0)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_long_uncommon_password_is_accepted_and_generated_ones_pass():
    assert password_problem(GOOD) is None
    assert all(password_problem(generate_password()) is None for _ in range(20))


def test_the_users_name_does_not_make_a_password():
    assert password_problem("quillonhardcastle7") is None
    assert "contains the username or name" in password_problem(
        "quillonhardcastle7", user_inputs=("quillonhardcastle", "Quillon Hardcastle"))


def _user(session):
    user = create_user(session, username="ann", password=GOOD, role="agent", now=T0)
    session.commit()
    return user


def _sign_in(session, password=GOOD, *, now=T0, address="10.0.0.1", username="ann"):
    return sign_in(session, username=username, password=password, address=address, now=now,
                   limits=LIMITS, max_age=HOURS_8)


def test_sign_in_starts_a_session_that_sign_out_revokes(session):
    user = _user(session)
    signed, token = _sign_in(session)
    assert signed.id == user.id
    assert session_user(session, token, now=T0, idle=IDLE, max_age=HOURS_8).id == user.id
    end_session(session, token, now=T0)
    assert session_user(session, token, now=T0, idle=IDLE, max_age=HOURS_8) is None
    assert session.exec(select(UserSession)).one().revoked_at == T0


def test_idle_and_maximum_age(session):
    _user(session)
    _, token = _sign_in(session)
    seen = T0 + timedelta(minutes=29)
    assert session_user(session, token, now=seen, idle=IDLE, max_age=HOURS_8)
    assert session_user(session, token, now=seen + timedelta(minutes=29), idle=IDLE,
                        max_age=HOURS_8), "the request at 29 minutes moved the idle clock"
    assert session_user(session, token, now=seen + timedelta(minutes=60), idle=IDLE,
                        max_age=HOURS_8) is None
    _, fresh = _sign_in(session, now=T0 + HOURS_8)
    assert session_user(session, fresh, now=T0 + HOURS_8 * 2 + IDLE, idle=HOURS_8 * 2,
                        max_age=HOURS_8) is None, "absolute maximum age"
    assert session_user(session, "not-a-token", now=T0, idle=IDLE, max_age=HOURS_8) is None


def test_a_password_change_revokes_every_session_of_the_user(session):
    user = _user(session)
    tokens = [_sign_in(session)[1] for _ in range(3)]
    set_password(session, user, "a different long phrase", now=T0)
    session.commit()
    assert all(session_user(session, t, now=T0, idle=IDLE, max_age=HOURS_8) is None for t in tokens)
    with pytest.raises(CaseError, match="at least 12"):
        set_password(session, user, "short", now=T0)


def test_failures_lock_the_account_and_the_right_password_waits_for_the_window(session):
    _user(session)
    for expected in (400, 400, 429):
        with pytest.raises(SignInRefused) as refused:
            _sign_in(session, "wrong password here")
        assert refused.value.status == expected
    with pytest.raises(SignInRefused, match="this account; try again in 10 minutes") as locked:
        _sign_in(session, now=T0 + timedelta(seconds=10))
    assert locked.value.status == 429
    assert len(session.exec(select(SigninFailure)).all()) == 3, "locked tries are not counted"
    user, _ = _sign_in(session, now=T0 + timedelta(minutes=10, seconds=1))
    assert user.username == "ann"
    assert session.exec(select(SigninFailure)).all() == [], "a good sign-in clears the account"


def test_failures_from_one_address_lock_it_for_every_account(session):
    _user(session)
    for i in range(5):
        with pytest.raises(SignInRefused):
            _sign_in(session, "x", username=f"nobody{i}")
    with pytest.raises(SignInRefused, match="this network address"):
        _sign_in(session)
    assert _sign_in(session, address="10.0.0.2")[0].username == "ann", "other addresses are free"


def test_cli_users_create_prints_the_reason_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    for weak in ("12345678", "password", " " * 8):
        result = runner.invoke(cli, ["users", "create", "bob", "--role", "agent",
                                     "--password", weak])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.output.count("\n") == 1 and "password" in result.output.lower()
    ok = runner.invoke(cli, ["users", "create", "bob", "--role", "agent", "--password", GOOD])
    assert ok.exit_code == 0, ok.output
    weak = runner.invoke(cli, ["users", "password", "bob", "--password", "bobbobbobbob"])
    assert weak.exit_code == 1 and weak.output.count("\n") == 1 and "too easy" in weak.output
    changed = runner.invoke(cli, ["users", "password", "bob", "--password", "an other long phrase"])
    assert changed.exit_code == 0 and "sessions are signed out" in changed.output
    assert runner.invoke(cli, ["users", "password", "nobody", "--password", GOOD]).exit_code == 1


def test_0009_downgrades_and_upgrades_again(db_url, db_engine):
    from alembic import command

    from tests.cases.test_migrations import _config

    command.downgrade(_config(db_url), "0008")
    assert not {"user_session", "signin_failure"} & set(sa.inspect(db_engine).get_table_names())
    command.upgrade(_config(db_url), "head")
    assert {"user_session", "signin_failure"} <= set(sa.inspect(db_engine).get_table_names())
