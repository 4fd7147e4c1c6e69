"""The kinds of notification and how each is said (facts are stored, words made here)."""
from __future__ import annotations

import json
from typing import Any, Mapping

KINDS: dict[str, str] = {
    "assigned": "A step was given to you",
    "team_handover": "A step was handed to your team",
    "approval_waiting": "A request waits for your approval",
    "request_decided": "Your request was decided",
    "step_at_risk": "A step of yours is at risk",
    "step_breached": "A step of yours missed its deadline",
    "incident": "The process failed on a case you work",
}
REQUESTS = {
    "skip": "skip a step", "go_back": "go back to an earlier step",
    "jump_to": "jump to a later step", "override_decision": "take another branch",
    "add_task": "add a task", "reassign": "reassign a step", "extend_deadline": "extend a deadline",
    "hold": "put the case on hold", "resume": "resume the case", "cancel": "cancel the case",
    "edit_data": "correct case data",
}


def _q(text: Any) -> str:
    return f"“{text}”" if text else "a step"


def describe(kind: str, details: Mapping[str, Any] | str, *, actor: str,
             case_id: int | None) -> str:
    """One notification in plain words."""
    d = json.loads(details) if isinstance(details, str) else dict(details)
    case = f"case {case_id}" if case_id else "a case"
    step = _q(d.get("step"))
    request = REQUESTS.get(str(d.get("request_kind")), "change the case")
    texts = {
        "assigned": lambda: (f"{actor} gave you {step} on {case}" if actor != "engine"
                             else f"{step} on {case} is back with you"),
        "team_handover": lambda: f"{actor} handed {step} on {case} to {d.get('team')}",
        "approval_waiting": lambda: f"{actor} asks to {request} on {case}: {d.get('note', '')}",
        "request_decided": lambda: (f"{actor} {d.get('decision', 'decided')} your request to "
                                    f"{request} on {case}"
                                    + (f": {d['note']}" if d.get("note") else "")),
        "step_at_risk": lambda: f"{step} on {case} is at risk of missing its deadline",
        "step_breached": lambda: f"{step} on {case} missed its deadline; a supervisor was alerted",
        "incident": lambda: (f"The process failed at {d.get('element_id') or 'a step'} on {case}: "
                             f"{d.get('error', '')}"),
    }
    try:
        return texts[kind]()
    except (KeyError, TypeError, ValueError):
        return f"{KINDS.get(kind, kind)} ({case})"
