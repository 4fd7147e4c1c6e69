"""The policy table itself (no database): its shape, its one door `decide`, and the rules over it.
Every cell is also run through the real services in test_policy_matrix.py."""
import pytest

from cases.errors import Forbidden
from cases.policy import (ACTIONS, AGENT, ALL_KINDS, APPROVAL, CREDIT_STEP, ORDINARY_STEP, ROLES,
                          TABLE, Step, check, credit_above_limit, decide, is_approval_team)
from cases.users import User


def _user(role: str, name: str | None = None) -> User:
    return User(username=name or role, display_name=role, role=role)


class _Approval:
    def __init__(self, approver: str):
        self.approver = approver


def test_the_table_has_a_cell_for_every_role_action_and_property_that_can_arise():
    assert set(AGENT) == set(ACTIONS) and ALL_KINDS < set(ACTIONS)
    for action, cells in AGENT.items():
        props = [p for p, cell in zip(("ordinary", "approval_step", "credit_above_limit"), cells)
                 if cell is not None]
        assert {(r, a, p) for (r, a, p) in TABLE if a == action} == {
            (r, action, p) for r in ROLES for p in props}, action
    assert {cell for cell in TABLE.values()} == {"allowed", "needs_approval", "refused"}


def test_agent_cells_for_the_step_not_the_route():
    agent = _user("agent")
    assert decide(agent, "skip") == "allowed"
    assert decide(agent, "skip", APPROVAL) == "needs_approval"
    assert decide(agent, "reassign", APPROVAL) == "needs_approval"
    assert decide(agent, "edit_data", CREDIT_STEP) == "needs_approval"
    assert decide(agent, "cancel") == "needs_approval"
    assert decide(agent, "complete", CREDIT_STEP) == "allowed"
    for action in ("claim", "complete"):
        with pytest.raises(Forbidden, match="agent may not .* supervisor's check"):
            decide(agent, action, APPROVAL)


def test_an_action_touching_several_steps_gets_the_strictest_cell():
    both = ORDINARY_STEP | APPROVAL | CREDIT_STEP
    assert both.properties == {"approval_step", "credit_above_limit"}
    assert decide(_user("agent"), "edit_data", both) == "needs_approval"
    with pytest.raises(Forbidden):
        decide(_user("agent"), "complete", both)


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_may_do_everything_without_approval(role):
    cells = {decide(_user(role), a, s) for a in ACTIONS for s in (ORDINARY_STEP, APPROVAL)}
    assert cells == {"allowed"}


def test_designer_is_refused_everything_and_unknown_roles_too():
    with pytest.raises(Forbidden, match="designer may not skip"):
        decide(_user("designer"), "skip")
    with pytest.raises(Forbidden):
        decide(_user("robot"), "hold")
    with pytest.raises(ValueError):
        decide(_user("agent"), "teleport")


def test_an_approval_lets_a_needs_approval_cell_through_but_never_a_refusal():
    agent = _user("agent", "ann")
    assert decide(agent, "skip", APPROVAL, approval=_Approval("sam")) == "allowed"
    with pytest.raises(Forbidden):
        decide(agent, "complete", APPROVAL, approval=_Approval("sam"))


def test_nobody_decides_their_own_request_by_any_path():
    sam = _user("supervisor", "sam")
    with pytest.raises(Forbidden, match="own request"):
        decide(sam, "approve", requested_by="sam")
    with pytest.raises(Forbidden, match="own approval"):
        decide(sam, "skip", APPROVAL, approval=_Approval("sam"))
    opened_by_sam = Step(APPROVAL.properties, frozenset({"sam"}))
    for action in ("complete", "skip", "jump_to", "edit_data", "approve"):
        with pytest.raises(Forbidden, match="whoever asked for it"):
            decide(sam, action, opened_by_sam)
    with pytest.raises(Forbidden, match="whoever asked for it"):  # approving the agent's skip of it
        decide(_user("agent", "ann"), "skip", opened_by_sam, approval=_Approval("sam"))
    assert decide(_user("supervisor", "sue"), "complete", opened_by_sam) == "allowed"
    assert decide(sam, "reassign", opened_by_sam) == "allowed", "handing it on decides nothing"


def test_check_for_the_pages_and_the_credit_and_team_helpers():
    assert check(_user("agent"), "skip") == "allowed"
    assert check(_user("agent"), "skip", sensitive=True) == "needs_approval"
    assert credit_above_limit({"credit_amount": "250"})
    assert not credit_above_limit({"credit_amount": 80})
    assert not credit_above_limit({"credit_amount": "lots"})  # the form check refuses it instead
    assert is_approval_team("Billing", "Supervisors") and not is_approval_team("Billing", None)
