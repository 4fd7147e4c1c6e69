"""Helpers for engine scenario tests: compile real files, run plain or across save/restore."""
from __future__ import annotations

from pathlib import Path

from engine import runtime
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
