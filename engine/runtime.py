"""The runtime facade: start, inspect, complete and steer one workflow instance.

An `Instance` wraps a SpiffWorkflow BpmnWorkflow plus Caseflow's own envelope (message inbox, ad-hoc
tasks, cancellation). Every command takes `now`, runs the engine as if it were that time, and records
what the engine did in `instance.events` for the case layer's audit log. Nothing here touches a
database: persistence stores `dump()` and restores with `load()`.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .clock import engine_time
from .compaction import compact_history
from .definitions import CompiledProcess
from .dmn_task import EVALUATION_KEY
from .errors import EngineError, ScriptFailed, TaskNotReady
from .event_specs import settle_event_subprocesses
from .forms import Form, validate_form
from .sandbox import SandboxError, new_script_engine
from .serializer import SERIALIZER_VERSION, dump_state, workflow_from_dict
from .timer_starts import pass_start_event
from .waits import Subscription, adopt, expected_correlation, thrown_signals, timer_due, waits

if TYPE_CHECKING:
    from .external import ExternalTask

HUMAN_KINDS = ("UserTask", "ManualTask", "NoneTask")
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReadyTask:
    """A step waiting for a person: a BPMN user/manual task or an ad-hoc task."""

    id: str
    element_id: str
    name: str
    lane: str | None
    kind: str  # "userTask", "manualTask", "task" or "adhoc"
    process_id: str
    data: dict = field(repr=False)
    blocking: bool = True
    form: Form | None = field(default=None, repr=False)
    ready_since: datetime | None = None  # engine time at which the step became ready
    previous: dict = field(default_factory=dict, repr=False)  # form values of the run gone back from


@dataclass(frozen=True)
class EngineEvent:
    """Something the engine did on its own or on request, for the audit log."""

    type: str  # "step_completed", "timer_fired", "message_delivered", ...
    element_id: str | None
    name: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CompletedStep:
    """A completed human step that the case may go back to."""

    task_id: str
    element_id: str
    name: str
    data: dict = field(repr=False)


def _kind(task) -> str:
    name = type(task.task_spec).__name__
    return {"UserTask": "userTask", "ManualTask": "manualTask"}.get(name, "task")


class Instance:
    """One running workflow instance of a compiled process."""

    def __init__(self, process: CompiledProcess, workflow: BpmnWorkflow, envelope: dict,
                 time_limit: float):
        self.process = process
        self.workflow = workflow
        adopt(workflow)
        self.envelope = envelope
        self.time_limit = time_limit
        self.events: list[EngineEvent] = []
        # The data values of the state last saved (engine/store.py; engine/data_values.py).
        self.saved_data_values: list[str] | None = None

    # ---- queries -------------------------------------------------------------------------
    @property
    def is_cancelled(self) -> bool:
        """Return whether the instance was cancelled."""
        return bool(self.envelope.get("cancelled"))

    @property
    def is_completed(self) -> bool:
        """Return whether the process reached its end and no blocking ad-hoc task is open."""
        if self.is_cancelled:
            return False
        open_blocking = [a for a in self.envelope["adhoc"] if a["open"] and a["blocking"]]
        return self.workflow.completed and not open_blocking

    @property
    def data(self) -> dict:
        """Return the business data as the latest finished or ready task sees it."""
        if self.workflow.completed:
            data = self.workflow.data
        else:
            ready = self._human_ready()
            data = (ready[0] if ready else self.workflow.last_task or self.workflow.task_tree).data
        return {k: v for k, v in data.items() if not k.startswith("_caseflow")}

    def ready_tasks(self) -> list[ReadyTask]:
        """Return every step waiting for a person, BPMN tasks first, then ad-hoc tasks."""
        tasks = [self._ready_task(t) for t in self._human_ready()]
        for item in self.envelope["adhoc"]:
            if item["open"]:
                tasks.append(ReadyTask(item["id"], item["element_id"], item["title"], item["lane"],
                                       "adhoc", self.process.process_id, dict(item["data"]),
                                       item["blocking"],
                                       ready_since=datetime.fromisoformat(item["created_at"])))
        return tasks

    def external_tasks(self) -> list["ExternalTask"]:
        """Return every service task waiting for a worker of its topic (never a person's step)."""
        from .external import external_tasks

        return external_tasks(self)

    def ready_task(self, task_id: str) -> ReadyTask:
        """Return one ready task by id or raise TaskNotReady."""
        for task in self.ready_tasks():
            if task.id == task_id:
                return task
        raise TaskNotReady(f"Task {task_id} is not waiting for anyone")

    def completed_steps(self) -> list[CompletedStep]:
        """Return completed human steps, oldest first (the places a case can go back to)."""
        done = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                if type(t.task_spec).__name__ in HUMAN_KINDS]
        done.sort(key=lambda t: t.last_state_change)
        return [CompletedStep(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                              dict(t.data)) for t in done]

    def next_timer_due(self) -> datetime | None:
        """Return when the earliest waiting timer fires (store it to schedule a wake-up): catch
        and boundary events, event-based gateway branches, timer-started event subprocesses."""
        if self.is_cancelled:
            return None
        due = [timer_due(w) for w in waits(self.workflow) if w.kind == "timer"]
        due = [d for d in due if d is not None]
        return min(due) if due else None

    def subscriptions(self) -> list[Subscription]:
        """Return every message and signal the instance waits for now, one row per catch, with the
        correlation values each catch expects; stable order, JSON-ready values."""
        if self.is_cancelled:
            return []
        rows = {(w.kind, w.name, w.element_id): w for w in waits(self.workflow)
                if w.kind in ("message", "signal") and w.name}
        return [Subscription(kind, name, element,
                             expected_correlation(w, self._data_at(w)) if kind == "message" else {})
                for (kind, name, element), w in sorted(rows.items())]

    def waiting_messages(self) -> list[str]:
        """Return the names of messages the process is waiting for right now."""
        if self.is_cancelled:
            return []
        return sorted({w.name for w in waits(self.workflow) if w.kind == "message" and w.name})

    def _data_at(self, wait) -> dict:
        """The data a catch sees: its own task's, or the scope's latest for an event subprocess."""
        if wait.task is not None:
            return dict(wait.task.data)
        return self.data

    # ---- commands ------------------------------------------------------------------------
    def complete(self, task_id: str, data: Mapping[str, Any], *, now: datetime) -> dict:
        """Complete a ready step; data is checked against the step's form (FormInvalid lists
        every bad field). Return the data as stored."""
        adhoc = self._adhoc(task_id)
        if adhoc is not None:
            adhoc.update(open=False, data={**adhoc["data"], **data}, completed_at=now.isoformat())
            return dict(data)
        task = self._ready_spiff_task(task_id)
        form = self.process.forms.get(task.task_spec.bpmn_id)
        cleaned = validate_form(form, data) if form is not None else dict(data)
        with engine_time(now):
            task.data.update(cleaned)
            self._guard(task, task.run)
            self.run_engine(now=now)
        return cleaned

    def advance(self, *, now: datetime) -> None:
        """Fire due timers, deliver waiting messages and run automatic steps up to `now`."""
        self.run_engine(now=now)

    def cancel(self, *, now: datetime) -> None:
        """Stop the instance for good."""
        with engine_time(now):
            self.workflow.cancel()
        self.envelope["cancelled"] = True
        for item in self.envelope["adhoc"]:
            item["open"] = False

    # ---- engine plumbing used by commands and deviations ----------------------------------
    def run_engine(self, *, now: datetime) -> None:
        """Run engine steps until only people, timers or messages can move the instance."""
        from .messages import deliver_inbox

        with engine_time(now):
            for _ in range(1000):
                self._guard(None, lambda: self.workflow.do_engine_steps(
                    did_complete_task=self._did_complete))
                # SpiffWorkflow fires a timer only strictly after its due time; Caseflow's clock
                # is inclusive: a timer due at `now` fires at `now`.
                with engine_time(now + _TICK):
                    self._guard(None, self.workflow.refresh_timers)
                # do_engine_steps refreshes timers last, so a timer that just fired leaves a
                # READY engine task behind: go round again until nothing automatic is ready.
                settled = settle_event_subprocesses(self.workflow)
                if not settled and not deliver_inbox(self) and not self._engine_ready():
                    break
        self._stamp_ready(now)

    def _stamp_ready(self, now: datetime) -> None:
        """Remember when each waiting step became ready (by the engine clock, not wall time)."""
        ready = {str(t.id) for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)}
        since = self.envelope.setdefault("ready_since", {})
        for task_id in [t for t in since if t not in ready]:
            del since[task_id]
        previous = self.envelope.get("previous") or {}
        for task_id in [t for t in previous if t not in ready]:
            del previous[task_id]
        for task_id in ready:
            since.setdefault(task_id, now.isoformat())

    def _all_tasks(self):
        """Every task of the workflow and its subprocesses (a flat scan, cheaper than a tree walk)."""
        yield from self.workflow.tasks.values()
        for sub in self.workflow.subprocesses.values():
            yield from sub.tasks.values()

    def _engine_ready(self) -> bool:
        return any(t.state == TaskState.READY and not t.task_spec.manual for t in self._all_tasks())

    def _did_complete(self, task) -> None:
        spec = task.task_spec
        thrown = thrown_signals(self.workflow)
        if thrown and thrown[-1].element_id is None:  # the task that just ran threw them
            for signal in thrown:
                signal.element_id = signal.element_id or getattr(spec, "bpmn_id", None)
        event_def = getattr(spec, "event_definition", None)
        printed = self._printed()
        if isinstance(event_def, TimerEventDefinition):
            self.events.append(EngineEvent("timer_fired", spec.bpmn_id, spec.bpmn_name))
        elif getattr(spec, "bpmn_id", None) and type(spec).__name__ == "ScriptTask":
            self.events.append(EngineEvent("script_ran", spec.bpmn_id, spec.bpmn_name,
                                           {"printed": printed} if printed else {}))
            printed = ""
        elif EVALUATION_KEY in task.internal_data:  # a business rule task: inputs and outcome
            self.events.append(EngineEvent("decision_evaluated", spec.bpmn_id, spec.bpmn_name,
                                           task.internal_data[EVALUATION_KEY]))
        elif type(spec).__name__ == "EndEvent" and task.workflow is self.workflow:
            self.events.append(EngineEvent("end_reached", spec.bpmn_id, spec.bpmn_name))
        if printed:  # a pre- or post-script of another element printed: the case's script log
            self.events.append(EngineEvent("script_printed", getattr(spec, "bpmn_id", None),
                                           getattr(spec, "bpmn_name", None), {"printed": printed}))

    def _printed(self) -> str:
        environment = getattr(self.workflow.script_engine, "environment", None)
        take = getattr(environment, "take_printed", None)
        return take() if take else ""

    def _guard(self, task, fn):
        try:
            return fn()
        except SandboxError as err:
            raise ScriptFailed(str(err), self._element_of(task)) from err
        except SpiffWorkflowException as err:
            element = getattr(getattr(err, "task_spec", None), "bpmn_id", None) or self._element_of(task)
            line = getattr(err, "line_number", None) or None
            # SpiffWorkflow wraps model-code errors without `from`: the sandbox's reason is the context.
            cause = err.__cause__ or getattr(err, "exception", None) or err.__context__
            if isinstance(cause, SandboxError):
                raise ScriptFailed(str(cause), element, line) from err
            raise ScriptFailed(str(err), element, line) from err
        except EngineError:
            raise
        except Exception as err:  # noqa: BLE001 - SpiffWorkflow raises some model faults unwrapped
            element = _element_in_traceback(err) or self._element_of(task)
            raise ScriptFailed(f"{type(err).__name__}: {err}", element) from err

    @staticmethod
    def _element_of(task) -> str | None:
        return getattr(task.task_spec, "bpmn_id", None) if task is not None else None

    def _human_ready(self) -> list:
        from .external import is_external

        return [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)
                if not is_external(t)]

    def _ready_task(self, task) -> ReadyTask:
        spec = task.task_spec
        since = self.envelope.get("ready_since", {}).get(str(task.id))
        return ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                         getattr(spec, "lane", None), _kind(task), task.workflow.spec.name,
                         dict(task.data), form=self.process.forms.get(spec.bpmn_id),
                         ready_since=datetime.fromisoformat(since) if since else None,
                         previous=dict((self.envelope.get("previous") or {}).get(str(task.id), {})))

    def _ready_spiff_task(self, task_id: str):
        for task in self._human_ready():
            if str(task.id) == task_id:
                return task
        raise TaskNotReady(f"Task {task_id} is not waiting for anyone")

    def _adhoc(self, task_id: str) -> dict | None:
        for item in self.envelope["adhoc"]:
            if item["id"] == task_id and item["open"]:
                return item
        return None

    def drain_events(self) -> list[EngineEvent]:
        """Return and forget the engine events recorded since the last call."""
        events, self.events = self.events, []
        return events

    def dump(self) -> str:
        """Serialize this instance's state (without the spec) to JSON, keeping history bounded."""
        compact_history(self.workflow)
        return dump_state(self.workflow, {"caseflow": self.envelope})


def _element_in_traceback(err: BaseException) -> str | None:
    """Return the element whose task was being handled where the error was raised (innermost)."""
    element, tb = None, err.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("my_task")
        bpmn_id = getattr(getattr(candidate, "task_spec", None), "bpmn_id", None)
        element = bpmn_id or element
        tb = tb.tb_next
    return element


def _new_envelope() -> dict:
    return {"inbox": [], "adhoc": [], "cancelled": False, "delivered": 0}


def start(process: CompiledProcess, data: Mapping[str, Any] | None = None, *, now: datetime,
          time_limit: float = 2.0, start_event: str | None = None,
          start_payload: Any = None) -> Instance:
    """Start a new instance with initial data and run it to its first wait; with `start_event`
    (a timer start event's id, when its time has come, or a signal start event's, with the
    signal's `start_payload`) the instance starts through that event.

    Without `start_event` the data is checked against the process's start form (FormInvalid
    lists every bad field, before anything runs) and its fields are stored typed."""
    data = dict(data or {})
    if start_event is None and process.start_form is not None:
        data.update(validate_form(process.start_form, data))
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs,
                            script_engine=new_script_engine(time_limit))
    workflow.task_tree.data.update(data)
    # The start task copies its data to its children when it runs; seed those already created.
    for child in workflow.task_tree.children:
        child.data.update(data)
    instance = Instance(process, workflow, _new_envelope(), time_limit)
    if start_event is not None:
        with engine_time(now):
            instance._guard(None, lambda: pass_start_event(workflow, start_event, start_payload))
    instance.run_engine(now=now)
    return instance


def load(process: CompiledProcess, state: str, *, time_limit: float = 2.0) -> Instance:
    """Restore an instance from `Instance.dump()` output against its compiled process."""
    dct = json.loads(state)
    workflow = workflow_from_dict(dct["workflow"], process.spec, process.subprocess_specs,
                                  dct.get("serializer_version", SERIALIZER_VERSION))
    workflow.script_engine = new_script_engine(time_limit)
    return Instance(process, workflow, dct["caseflow"], time_limit)


def new_id() -> str:
    """Return a fresh id for an ad-hoc task."""
    return str(uuid.uuid4())
