"""Start-event forms: the form an agent fills in when opening a case of a process.

Decision: the form (camunda:formData or a Camunda form) of a process's plain start event — a
startEvent directly in the process, without a timer, message, signal or other trigger — is shown
on the page where an agent opens a case, and the JSON API's open-case call checks the same
fields. Its values become the case's start data. A form on any other start event (a timer's, a
message's, an event subprocess's) has nobody to fill it in: a warning naming the element.

Several plain start events: SpiffWorkflow starts a case at the first of them in the file's
order, so that one's form is the start form and the case's path begins there. A form on any
later plain start event is never asked for: a warning naming it and the one used. (Letting the
agent choose the start event was weighed and left: a process that begins in two ways reads
better as one start event and a gateway on a start-form field, which the case's data keeps.)
"""
from __future__ import annotations

from lxml import etree

from .errors import Problem
from .formjs import FormLibrary, form_reference
from .forms import parse_form
from .parser import BPMN_NS

_TRIGGERS = {"timerEventDefinition": "a timer", "messageEventDefinition": "a message",
             "signalEventDefinition": "a signal", "conditionalEventDefinition": "a condition",
             "errorEventDefinition": "an error", "escalationEventDefinition": "an escalation",
             "compensateEventDefinition": "compensation"}


def hidden_reason(start: etree._Element) -> str | None:
    """Why no agent ever sees the form of this start event; None when the case page shows it."""
    parent = start.getparent()
    if parent is None or parent.tag != f"{{{BPMN_NS}}}process":
        return "it starts a subprocess inside the process, which no agent opens by hand"
    for child in start:
        local = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if local in _TRIGGERS:
            return f"cases start there on {_TRIGGERS[local]}, not by an agent"
    return None


def _has_form(start: etree._Element, library: FormLibrary) -> bool:
    if parse_form(start) is not None:
        return True
    found = form_reference(start, library)
    return found is not None and found.form is not None


def _later_plain_starts(root: etree._Element) -> dict[etree._Element, etree._Element]:
    """Each plain start event after a process's first one, mapped to that first one."""
    later = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        plain = [s for s in process.findall(f"{{{BPMN_NS}}}startEvent") if hidden_reason(s) is None]
        later.update({start: plain[0] for start in plain[1:]})
    return later


def _name(element: etree._Element) -> str:
    return element.get("name") or element.get("id")


def start_form_problems(root: etree._Element, library: FormLibrary) -> list[Problem]:
    """Warnings for start-event forms that no agent will be shown, each naming its element."""
    problems = []
    later = _later_plain_starts(root)
    for start in root.iter(f"{{{BPMN_NS}}}startEvent"):
        why, advice = hidden_reason(start), "Put the form on the process's plain start event"
        if start in later:
            why = (f"a case opened by an agent or through the API starts at the process's first "
                   f"plain start event, '{_name(later[start])}', and asks for its form only")
            advice = ("Give the process one plain start event (a gateway after it can tell the "
                      "ways apart)")
        if why and _has_form(start, library):
            problems.append(Problem(
                f"The start form of '{_name(start)}' is not shown: {why}. {advice}, or put the "
                "form on a user task after this event.",
                element_id=start.get("id"), element_name=start.get("name"),
                line=start.sourceline, severity="warning"))
    return problems


__all__ = ["hidden_reason", "start_form_problems"]
