"""Helpers for engine scenario tests: compile real files, run plain or across save/restore."""
from __future__ import annotations

from pathlib import Path

from engine import messages, runtime
from engine.errors import MessageNotCorrelated
from engine.definitions import CompiledProcess, compile_processes

DATA = Path(__file__).resolve().parent / "data"


def compile_file(path: Path, process_id: str | None = None) -> CompiledProcess:
    """Compile a .bpmn file and return one process (the first one when no id is given)."""
    processes = compile_processes(path.read_bytes(), path.name)
    return processes[process_id] if process_id else next(iter(processes.values()))


class Runner:
    """Runs a scenario on one instance, optionally saving and restoring it before every step."""

    def __init__(self, process: CompiledProcess, roundtrip: bool):
        self.process = process
        self.roundtrip = roundtrip

    def start(self, data=None, *, now) -> runtime.Instance:
        return self.again(runtime.start(self.process, data or {}, now=now))

    def again(self, instance: runtime.Instance) -> runtime.Instance:
        """Return the instance itself, or a copy rebuilt from its saved state."""
        return runtime.load(self.process, instance.dump()) if self.roundtrip else instance


def ready_ids(instance: runtime.Instance) -> list[str]:
    return sorted(t.element_id for t in instance.ready_tasks())


def task_for(instance: runtime.Instance, element_id: str) -> runtime.ReadyTask:
    matches = [t for t in instance.ready_tasks() if t.element_id == element_id]
    assert matches, f"{element_id} is not ready; ready: {ready_ids(instance)}"
    return matches[0]


def complete(instance: runtime.Instance, element_id: str, data=None, *, now) -> None:
    instance.complete(task_for(instance, element_id).id, data or {}, now=now)


class Exchange:
    """Runs every process of one file as its own instance (as Caseflow runs each as its own case)
    and passes each message one of them sends to the instance it is meant for, through the
    receiving instance's message inbox with the correlation values the message carries. A message
    no running instance takes starts a new instance of a process whose start event catches it
    (`message_started`): one instance per such message, as each would be its own case.
    """

    def __init__(self, processes: dict, message_started: dict[str, set[str]], roundtrip: bool):
        self.processes = processes
        self.message_started = message_started  # process id -> message names its start catches
        self.roundtrip = roundtrip
        self.instances: list[list] = []  # [process id, runner, instance]
        self.undelivered: list[messages.SentMessage] = []

    def start(self, data: dict, *, now) -> None:
        for pid, process in self.processes.items():
            if pid not in self.message_started:
                self._add(pid, data, now=now)

    def _add(self, pid: str, data: dict, *, now) -> list:
        runner = Runner(self.processes[pid], self.roundtrip)
        entry = [pid, runner, runner.start(dict(data), now=now)]
        self.instances.append(entry)
        return entry

    @property
    def is_completed(self) -> bool:
        return bool(self.instances) and all(i.is_completed for _, _, i in self.instances)

    def again(self) -> None:
        for entry in self.instances:
            entry[2] = entry[1].again(entry[2])

    def pass_messages(self, *, now) -> bool:
        """Deliver what the instances sent; return whether any message was taken."""
        for _, _, instance in self.instances:
            self.undelivered.extend(messages.take_sent(instance))
        taken, waiting = False, []
        for message in self.undelivered:
            if self._deliver(message, now=now):
                taken = True
            else:
                waiting.append(message)
        self.undelivered = waiting
        return taken

    def _deliver(self, message, *, now) -> bool:
        for _, _, instance in self.instances:
            if instance.is_completed or message.name not in instance.waiting_messages():
                continue
            try:
                if messages.send_message(instance, message.name, message.payload, now=now,
                                         correlation=message.correlation or None):
                    return True
            except MessageNotCorrelated:
                continue
        for pid, names in self.message_started.items():
            if message.name in names:
                _, _, instance = self._add(pid, {}, now=now)
                return messages.send_message(instance, message.name, message.payload, now=now,
                                             correlation=message.correlation or None)
        return False
