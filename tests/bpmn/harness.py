"""Run scripted scenarios against the shipped process library, plain or across save/restore.

A scenario is a list of steps taken by people, the clock and the customer:
- `do(element_id, **form)`: the one ready task with that element id is completed with the form data,
  after the data went through the task's own form (engine.forms), as the case layer does it; for an
  external task (a service task with a topic) a worker completes it with these variables;
- `bpmn_error(element_id, code, **variables)`: the worker of an external task throws a BPMN error;
- `wait(**timedelta)`: the clock moves on and due timers fire;
- `contact()`: the customer contacts us again (message `customer_contacted_again`);
- `message(name, **payload)`: a message from outside (the customer's reply) that the process must be
  waiting for;
- `signal(name, **payload)`: a broadcast (a mass outage cleared) as the case layer hands it to each
  waiting case (engine.signals);
- `ready(*element_ids)`: exactly these steps wait for people or workers now;
- `skip(element_id)`, `go_back(element_id)`, `override(gateway_id, target_id)`: an agent leaves the
  path (engine.deviations; a skip gives the step its form defaults).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from engine import deviations, runtime
from engine.definitions import CompiledProcess, compile_processes
from engine.external import complete_external, throw_bpmn_error
from engine.forms import parse_form, validate_form
from engine.messages import send_message
from engine.parser import NS
from engine.signals import send_signal

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
PROCESS_IDS = (
    "install_service", "restore_service", "billing_inquiry", "complaint", "change_service",
)
CONTACT = "customer_contacted_again"
STEP_TIME = timedelta(minutes=10)  # how long each human step takes in scenario time


@dataclass(frozen=True)
class Step:
    action: str
    element_id: str | None = None  # for a message or signal: its name
    data: dict = field(default_factory=dict)
    delay: timedelta = timedelta(0)
    expected: tuple[str, ...] = ()


def do(element_id: str, **form: Any) -> Step:
    return Step("do", element_id, form)


def bpmn_error(element_id: str, code: str, **variables: Any) -> Step:
    return Step("bpmn_error", element_id, {"code": code, "variables": variables})


def wait(**delta: float) -> Step:
    return Step("wait", delay=timedelta(**delta))


def contact() -> Step:
    return Step("contact")


def message(name: str, **payload: Any) -> Step:
    return Step("message", name, payload)


def signal(name: str, **payload: Any) -> Step:
    return Step("signal", name, payload)


def ready(*element_ids: str) -> Step:
    return Step("ready", expected=tuple(sorted(element_ids)))


def skip(element_id: str) -> Step:
    return Step("skip", element_id)


def go_back(element_id: str) -> Step:
    return Step("go_back", element_id)


def override(gateway_id: str, target_id: str) -> Step:
    return Step("override", gateway_id, {"target": target_id})


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    ends: tuple[str, ...]  # end events the case must have reached

    def __str__(self) -> str:
        return self.name


def bpmn_path(process_id: str) -> Path:
    return BPMN_DIR / f"{process_id}.bpmn"


@lru_cache(maxsize=None)
def compiled(process_id: str) -> CompiledProcess:
    """Compile a shipped file through validation, as a deployment does."""
    path = bpmn_path(process_id)
    return compile_processes(path.read_bytes(), path.name,
                             decisions=shipped_decisions())[process_id]


def shipped_decisions() -> dict[str, bytes]:
    """Decision id -> DMN bytes of the shipped bpmn/*.dmn files (deployed with the processes)."""
    from engine.dmn import decision_ids

    found = {}
    for path in sorted(BPMN_DIR.glob("*.dmn")):
        found.update({d: path.read_bytes() for d in decision_ids(path.read_bytes(), path.name)})
    return found


@lru_cache(maxsize=None)
def tree(process_id: str) -> etree._Element:
    return etree.fromstring(bpmn_path(process_id).read_bytes())


def element(process_id: str, element_id: str) -> etree._Element:
    found = tree(process_id).xpath("//*[@id=$id]", id=element_id)
    assert found, f"{process_id} has no element {element_id}"
    return found[0]


def sequence_flows(process_id: str) -> set[tuple[str, str]]:
    """Return (source, target) of every sequence flow in the file."""
    return {(f.get("sourceRef"), f.get("targetRef"))
            for f in tree(process_id).iter(f"{{{NS['bpmn']}}}sequenceFlow")}


def form_data(process_id: str, element_id: str, submitted: dict) -> dict:
    """Clean submitted values through the task's form, failing the test on any invalid field."""
    form = parse_form(element(process_id, element_id))
    if form is None:
        assert not submitted, f"{element_id} has no form but the scenario fills one in"
        return {}
    unknown = set(submitted) - {f.id for f in form.fields}
    assert not unknown, f"{element_id} has no fields {sorted(unknown)}"
    return validate_form(form, submitted)


class Run:
    """One scenario on one instance; with roundtrip, saved and restored after every step."""

    def __init__(self, process_id: str, roundtrip: bool, now):
        self.process_id = process_id
        self.process = compiled(process_id)
        self.roundtrip = roundtrip
        self.now = now
        self.instance = self._again(runtime.start(self.process, {}, now=now))

    def _again(self, instance: runtime.Instance) -> runtime.Instance:
        return runtime.load(self.process, instance.dump()) if self.roundtrip else instance

    def ready_ids(self) -> tuple[str, ...]:
        waiting = [*self.instance.ready_tasks(), *self.instance.external_tasks()]
        return tuple(sorted(t.element_id for t in waiting))

    def _external(self, step: Step) -> bool:
        """Let a worker complete an external task or throw its error; False for a person's step."""
        matches = [t for t in self.instance.external_tasks() if t.element_id == step.element_id]
        if not matches or step.action not in ("do", "bpmn_error"):
            assert step.action != "bpmn_error", f"{step.element_id} waits for no worker"
            return False
        self.now += STEP_TIME
        if step.action == "do":
            complete_external(self.instance, matches[0].id, step.data, now=self.now)
        else:
            throw_bpmn_error(self.instance, matches[0].id, step.data["code"], None,
                             step.data["variables"], now=self.now)
        return True

    def step(self, step: Step) -> None:
        inst = self.instance
        if self._external(step):
            pass
        elif step.action in ("do", "skip"):
            matches = [t for t in inst.ready_tasks() if t.element_id == step.element_id]
            assert len(matches) == 1, f"{step.element_id} is not ready; ready: {self.ready_ids()}"
            self.now += STEP_TIME
            if step.action == "skip":
                deviations.skip(inst, matches[0].id, now=self.now)
            else:
                inst.complete(matches[0].id, form_data(self.process_id, step.element_id, step.data),
                              now=self.now)
        elif step.action == "go_back":
            deviations.go_back(inst, step.element_id, now=self.now)
        elif step.action == "override":
            deviations.override_decision(inst, step.element_id, step.data["target"], now=self.now)
        elif step.action == "wait":
            self.now += step.delay
            inst.advance(now=self.now)
        elif step.action == "contact":
            delivered = send_message(inst, CONTACT, {"channel": "phone"}, now=self.now)
            assert delivered, "nobody waited for the contact"
        elif step.action == "message":
            delivered = send_message(inst, step.element_id, step.data, now=self.now)
            assert delivered, f"nobody waited for the message {step.element_id}"
        elif step.action == "signal":
            caught = send_signal(inst, step.element_id, step.data, now=self.now)
            assert caught, f"nobody waited for the signal {step.element_id}"
        elif step.action == "ready":
            assert self.ready_ids() == step.expected, f"ready: {self.ready_ids()}"
            return
        self.instance = self._again(inst)

    def play(self, scenario: Scenario) -> runtime.Instance:
        for step in scenario.steps:
            self.step(step)
        return self.instance


def reached_ends(instance: runtime.Instance) -> set[str]:
    """Return the end events the instance completed."""
    return {t.task_spec.bpmn_id for t in instance.workflow.get_tasks(state=TaskState.COMPLETED)
            if type(t.task_spec).__name__ == "EndEvent"}


def taken_flows(instance: runtime.Instance) -> set[tuple[str, str]]:
    """Return (source, target) of every sequence flow the instance took (from its task tree)."""
    taken = set()
    for task in instance.workflow.get_tasks(state=TaskState.COMPLETED):
        target = getattr(task.task_spec, "bpmn_id", None)
        parent = task.parent
        while parent is not None and not getattr(parent.task_spec, "bpmn_id", None):
            parent = parent.parent
        if target and parent is not None and type(task.task_spec).__name__ != "BoundaryEvent":
            taken.add((parent.task_spec.bpmn_id, target))
    return taken
