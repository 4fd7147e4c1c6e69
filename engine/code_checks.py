"""Checks on the Python inside a model: conditions, scripts, timer expressions, loop expressions.

Everything is checked with the sandbox's own rules (engine.sandbox.check_model_code), so what passes
here compiles at runtime. Scripts are checked as written; conditions and timers stripped, as the
runtime evaluates them.
"""
from __future__ import annotations

import re

from lxml import etree

from .bpmntree import Model, bpmn, describe, owner, problem
from .errors import Problem
from .parser import ISO_TIMER, NS, TIMER_TAGS
from .sandbox import check_model_code
from .sandbox_rules import unknown_call

SPIFF = NS["spiffworkflow"]
_PYTHON_FORMATS = {"", "python", "python3", "py", "text/python", "text/x-python",
                   "application/x-python"}
_JUEL = re.compile(r"^\s*[$#]\{.*\}\s*$", re.DOTALL)
_CRON_FIELD = r"[0-9*?/,\-#LW]+|[A-Za-z]{3}([-,][A-Za-z]{3})*"
_CRON = re.compile(rf"^\s*({_CRON_FIELD})(\s+({_CRON_FIELD})){{4,6}}\s*$")
# Other engines let their host inject functions into model code; Caseflow has no such hook.
_NO_HOST_FUNCTIONS = ("Caseflow gives model code no functions from outside: define the function in "
                      "the script, or compute the value in an earlier step")
_CRON_HINT = "cron timers are not supported; use an ISO-8601 cycle such as R/PT1H"
# (element, mode, what the designer calls it)
_EXPRESSIONS = (
    (bpmn("conditionExpression"), "eval", "condition"),
    (bpmn("condition"), "eval", "condition"),
    (bpmn("completionCondition"), "eval", "completion condition"),
    (bpmn("loopCardinality"), "eval", "loop cardinality"),
    (bpmn("loopCondition"), "eval", "loop condition"),
    (f"{{{SPIFF}}}preScript", "exec", "pre-script"),
    (f"{{{SPIFF}}}postScript", "exec", "post-script"),
    (f"{{{SPIFF}}}messagePayload", "eval", "message payload"),
)


def _quote(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_expressions(m: Model) -> list[Problem]:
    """Report conditions and expressions that do not compile under the sandbox."""
    found = []
    for tag, mode, what in _EXPRESSIONS:
        for process in m.runnable:
            for node in process.iter(tag):
                text = node.text or ""
                if not text.strip():
                    continue
                issue = _expression_issue(node, text if mode == "exec" else text.strip(), mode)
                if issue:
                    where = owner(node)
                    found.append(problem(where, f"The {what} '{_quote(text)}' on {describe(where)} "
                                         f"{issue}"))
    return found


def _expression_issue(node: etree._Element, text: str, mode: str) -> str | None:
    language = (node.get("language") or "").strip().lower()
    if "javascript" in language or "groovy" in language or language.endswith("juel"):
        return (f"is written in {node.get('language')}; Caseflow runs Python only. Rewrite it in "
                "Python.")
    if _JUEL.match(text):
        return ("is a Camunda (JUEL) expression; Caseflow expressions are Python. Write it "
                "without ${...}, e.g. amount > 1000.")
    if mode == "eval" and text.startswith("="):
        return ("is a Camunda 8 (FEEL) expression; Caseflow expressions are Python. Write it "
                "without the leading '=', in Python, e.g. amount > 1000.")
    reason = check_model_code(text, mode)
    if reason:
        return f"is not valid Caseflow Python: {reason}. Fix the expression."
    reason = unknown_call(text, mode)
    if reason:
        return f"cannot run: {reason}. {_NO_HOST_FUNCTIONS}."
    return None


def check_scripts(m: Model) -> list[Problem]:
    """Report script tasks without a Python script or whose script the sandbox refuses."""
    found = []
    for task in m.iter("scriptTask"):
        script_format = (task.get("scriptFormat") or "").strip().lower()
        script = task.find(bpmn("script"))
        source = script.text if script is not None and script.text else ""
        label = describe(task)
        if script_format not in _PYTHON_FORMATS:
            found.append(problem(task, f"{label} has a {task.get('scriptFormat')} script; Caseflow "
                                 "runs Python scripts only. Rewrite the script in Python."))
        elif not source.strip():
            found.append(problem(task, f"{label} has no script. Write the Python it should run, or "
                                 "make it a plain task."))
        else:
            reason = check_model_code(source, "exec")
            if reason:
                found.append(problem(task, f"The script of {label} is refused: {reason}. Fix the "
                                     "script."))
            elif reason := unknown_call(source, "exec"):
                found.append(problem(task, f"The script of {label} cannot run: {reason}. "
                                     f"{_NO_HOST_FUNCTIONS}."))
    return found


def check_timers(m: Model) -> list[Problem]:
    """Report timers that are neither ISO-8601 literals nor sandboxed Python expressions."""
    found = []
    for definition in m.iter("timerEventDefinition"):
        event = owner(definition)
        spec = next((c for t in TIMER_TAGS for c in definition.findall(bpmn(t))), None)
        text = (spec.text or "").strip() if spec is not None else ""
        label = describe(event)
        if not text:
            found.append(problem(event, f"The timer of {label} has no time set. Enter a duration "
                                 "such as PT1H, a date such as 2026-12-01T10:00Z or a cycle such "
                                 "as R3/PT1H."))
            continue
        issue = _timer_issue(text)
        if issue:
            found.append(problem(event, f"The timer '{_quote(text)}' of {label} {issue}"))
    return found


def _timer_issue(text: str) -> str | None:
    if ISO_TIMER.match(text):
        return None
    if _CRON.match(text):
        return f"is a cron expression: {_CRON_HINT}."
    if _JUEL.match(text):
        return ("is a Camunda (JUEL) expression; Caseflow timer expressions are Python. Write an "
                "ISO-8601 time such as PT1H, or a Python expression such as due_date.")
    reason = check_model_code(text, "eval")
    if reason:
        return ("is neither an ISO-8601 time (PT1H, 2026-12-01T10:00Z, R3/PT1H) nor a valid "
                f"Python expression ({reason}). Fix the timer.")
    reason = unknown_call(text, "eval")
    if reason:
        return f"cannot run: {reason}. {_NO_HOST_FUNCTIONS}."
    return None


def check_camunda_loops(m: Model) -> list[Problem]:
    """Report a Camunda multi-instance whose loop cardinality is an expression beside a collection:
    SpiffWorkflow's Camunda support reads a list there as the items (the collection then receives
    the results), Camunda runs over the collection and ignores it; which was meant is unknowable."""
    found = []
    camunda = NS["camunda"]
    for loop in m.iter("multiInstanceLoopCharacteristics"):
        collection = (loop.get(f"{{{camunda}}}collection") or "").strip()
        cardinality = loop.find(bpmn("loopCardinality"))
        text = (cardinality.text or "").strip() if cardinality is not None else ""
        if not collection or not text or text.isdigit():
            continue
        task = owner(loop)
        found.append(problem(task, f"The multi-instance of {describe(task)} has a loop cardinality "
                             f"'{_quote(text)}' beside the Camunda collection '{collection}'. "
                             "Caseflow runs one instance per item of the collection and cannot "
                             "tell whether the cardinality is a count or the items: give the "
                             "items as the collection and remove the cardinality."))
    return found


_THROWING = ("intermediateThrowEvent", "endEvent")


def check_message_contents(m: Model) -> list[Problem]:
    """Report a message thrown without content whose receivers here read correlation values from it.

    SpiffWorkflow's plain BPMN throw sends a copy of the task data; Caseflow sends only what
    spiffworkflow:messagePayload (or camunda:expression) gives, so such a receiver could never
    tell its conversation apart and would fail at run time."""
    root = m.root
    reads: dict[str, list[str]] = {}
    for expression in root.iter(bpmn("correlationPropertyRetrievalExpression")):
        path = expression.find(bpmn("messagePath")) if expression.find(bpmn("messagePath")) is not None \
            else expression.find(bpmn("formalExpression"))
        if path is not None and (path.text or "").strip():
            reads.setdefault(expression.get("messageRef"), []).append(path.text.strip())
    messages = {e.get("id"): e for e in root.iter(bpmn("message"))}
    caught = {d.get("messageRef") for process in m.runnable
              for d in [*process.iter(bpmn("messageEventDefinition")), *process.iter(bpmn("receiveTask"))]
              if etree.QName(d.getparent()).localname not in _THROWING}
    reads = {ref: paths for ref, paths in reads.items() if ref in caught}  # a receiver runs here
    found = []
    for process in m.runnable:
        senders = [(d.getparent(), d) for d in process.iter(bpmn("messageEventDefinition"))
                   if etree.QName(d.getparent()).localname in _THROWING]
        senders += [(t, t) for t in process.iter(bpmn("sendTask"))]
        for element, definition in senders:
            ref = definition.get("messageRef")
            if ref not in reads or _has_content(definition, messages.get(ref)):
                continue
            name = messages[ref].get("name") or ref if ref in messages else ref
            found.append(problem(element, f"{describe(element)} sends message '{name}' without "
                                 f"content, but its receivers read {', '.join(sorted(reads[ref]))} "
                                 "from it to find their conversation. Caseflow sends only the "
                                 "message payload: give it a spiffworkflow:messagePayload with "
                                 "those values."))
    return found


def _has_content(definition: etree._Element, message: etree._Element | None) -> bool:
    if definition.get(f"{{{NS['camunda']}}}expression"):
        return True
    return any(e is not None and e.find(f".//{{{SPIFF}}}messagePayload") is not None
               for e in (definition, message))


CODE_CHECKS = (check_expressions, check_scripts, check_timers, check_camunda_loops,
               check_message_contents)
