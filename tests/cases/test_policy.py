import pytest

from cases.errors import Forbidden
from cases.policy import ALL_KINDS, check
from cases.users import User


def _user(role: str) -> User:
    return User(username=role, display_name=role, role=role)


def test_agent_cancel_and_override_need_approval_other_kinds_allowed():
    agent = _user("agent")
    assert check(agent, "cancel") == "needs_approval"
    assert check(agent, "override_decision") == "needs_approval"
    assert check(agent, "skip") == "allowed"
    assert check(agent, "hold") == "allowed"


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_do_everything_without_approval(role):
    assert {check(_user(role), kind) for kind in ALL_KINDS} == {"allowed"}


def test_designer_is_refused_any_deviation():
    with pytest.raises(Forbidden, match="designer may not skip"):
        check(_user("designer"), "skip")


def test_bypassing_a_second_persons_check_needs_approval_for_an_agent_only():
    from cases.policy import sensitive

    assert sensitive(team="Supervisors") and not sensitive(team="Billing")
    assert sensitive(changes={"credit_amount": "250"}) and not sensitive(changes={"credit_amount": 80})
    assert not sensitive(changes={"credit_amount": "lots"})  # the form check refuses it instead
    assert check(_user("agent"), "skip", sensitive=True) == "needs_approval"
    assert check(_user("agent"), "edit_data", sensitive=False) == "allowed"
    assert check(_user("supervisor"), "skip", sensitive=True) == "allowed"
