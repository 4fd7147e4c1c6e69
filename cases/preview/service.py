"""The dry run of a deviation: carried out on a copy of the case's instance that is never saved."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from sqlmodel import Session

from engine import deviations as engine_deviations
from engine import store
from engine.errors import ScriptFailed, StepNotFound, TaskNotReady
from engine.preview import (
    DecisionRead,
    Reached,
    decisions_reading,
    element_name,
    finished_elements,
    outcome,
)
from engine.runtime import Instance

from .. import policy
from ..case_models import WorkItem
from ..case_service import get_case
from ..errors import Conflict, InvalidInput, NotFound
from ..users import User
from .needs import NeededField, needed, skip_data

PREVIEW_KINDS = ("skip", "go_back", "jump_to", "override_decision")


@dataclass
class Preview:
    """Where a deviation would take the case, said before it happens."""

    kind: str
    steps: list[Reached] = field(default_factory=list)    # waiting for a person afterwards
    ends: list[Reached] = field(default_factory=list)     # end events it would reach
    completed: bool = False
    skipped: list[str] = field(default_factory=list)      # steps a jump would pass
    reads: list[DecisionRead] = field(default_factory=list)  # later decisions reading skipped data
    needs: list[NeededField] = field(default_factory=list)   # a skip's fields those decisions read
    missing: list[str] = field(default_factory=list)      # needed fields the caller left out
    failure: str | None = None                           # the model would fail on the way
    later: str | None = None                             # an override of a decision not reached yet

    @property
    def lines(self) -> list[str]:
        """The preview in words, one sentence a line."""
        out = []
        if self.failure:
            return [f"The process would fail on the way: {self.failure}"]
        if self.skipped:
            out.append("Steps passed without being done: " + ", ".join(self.skipped) + ".")
        if self.steps:
            out.append("Next: " + "; ".join(s.name for s in self.steps) + ".")
        if self.ends:
            out.append("The process would end at " + "; ".join(e.name for e in self.ends) + ".")
        elif not self.steps:
            out.append("No step would wait for a person (the case waits for a timer or a message).")
        if self.later:
            out.append(self.later)
        for read in self.reads:
            out.append(f"The later decision “{read.name}” reads {', '.join(read.fields)}, which "
                       "the skipped step would have provided.")
        if self.missing:
            out.append("Give " + ", ".join(self.missing) + " first: with the form's defaults the "
                       "case would go where this preview says.")
        return out

    def as_dict(self) -> dict[str, Any]:
        """The preview as JSON for the API."""
        return {"kind": self.kind, "next_steps": [s.__dict__ for s in self.steps],
                "ends": [e.__dict__ for e in self.ends], "completed": self.completed,
                "skipped": self.skipped,
                "decisions": [{"element_id": r.element_id, "name": r.name, "fields": list(r.fields)}
                              for r in self.reads],
                "needs": [{"field": n.field.id, "label": n.field.label, "decisions": list(n.decisions),
                           "default": n.default} for n in self.needs],
                "missing": self.missing, "failure": self.failure, "later": self.later,
                "summary": " ".join(self.lines)}


def preview(session: Session, *, actor: User, now: datetime, case_id: int, kind: str,
            params: Mapping[str, Any], time_limit: float = 2.0) -> Preview:
    """Carry out a skip, go back, jump or override on a copy of the case; nothing is saved."""
    if kind not in PREVIEW_KINDS:
        raise NotFound(f"There is no preview for '{kind}'; choose one of {', '.join(PREVIEW_KINDS)}")
    policy.check(actor, kind)
    case = get_case(session, case_id)
    if case.status != "open":
        raise Conflict(f"The case is {case.status.replace('_', ' ')}")
    _, live = store.load_instance(session, case.instance_id, time_limit=time_limit)
    result = Preview(kind)
    live.drain_events()
    try:
        _apply(session, live, case.id, kind, params, result, now=now)
    except ScriptFailed as err:
        result.failure = str(err)
        return result
    except StepNotFound as err:
        field_name = {"override_decision": "target_id", "skip": "work_item_id"}.get(kind, "element_id")
        raise InvalidInput({field_name: str(err)}) from None
    except TaskNotReady:
        raise Conflict("That step is no longer waiting; reload the case") from None
    finally:
        session.rollback()  # the copy is never saved; nothing was written
    done = outcome(live)
    result.steps, result.ends, result.completed = list(done.steps), list(done.ends), done.completed
    return result


def _apply(session: Session, live: Instance, case_id: int, kind: str, params: Mapping[str, Any],
           result: Preview, *, now: datetime) -> None:
    if kind == "skip":
        item = session.get(WorkItem, params.get("work_item_id") or 0)
        if item is None or item.case_id != case_id or item.state != "open":
            raise InvalidInput({"work_item_id": f"No open step {params.get('work_item_id')} on "
                                f"case {case_id}"})
        data = params.get("data") or {}
        result.needs = needed(live.process, item.element_id)
        result.missing = [n.field.id for n in result.needs if n.field.id not in
                          skip_data(live.process, item.element_id, data, complete=False)]
        result.reads = decisions_reading(live.process, item.element_id) if result.missing else []
        engine_deviations.skip(live, item.task_id, now=now,
                               data=skip_data(live.process, item.element_id, data, complete=False))
    elif kind == "go_back":
        engine_deviations.go_back(live, params.get("element_id") or "", now=now)
    elif kind == "jump_to":
        before = finished_elements(live)
        skipped = engine_deviations.jump_to(live, params.get("element_id") or "", now=now)
        routed = {e for t, e in finished_elements(live).items() if t not in before}
        names = {t.element_id: t.name for t in live.completed_steps()}
        result.skipped = [names.get(e, e) for e in skipped]
        # decisions the jump ran through were routed along its path; the later ones were not
        result.reads = [r for e in dict.fromkeys(skipped)
                        for r in decisions_reading(live.process, e) if r.element_id not in routed]
    else:
        gateway, target = params.get("gateway_id") or "", params.get("target_id") or ""
        if not engine_deviations.override_decision(live, gateway, target, now=now):
            result.later = (f"When the case reaches the decision “{element_name(live.process, gateway)}"
                            f"”, it goes to “{element_name(live.process, target)}”.")


def waiting_now(session: Session, case_id: int) -> str:
    """Say which steps of a case wait for a person now, in one sentence."""
    from sqlmodel import select

    names = session.exec(select(WorkItem.name).where(WorkItem.case_id == case_id,
                                                     WorkItem.state == "open")
                         .order_by(WorkItem.id)).all()
    if not names:
        return "No step waits for a person now."
    return "Waiting now: " + "; ".join(names) + "."
