"""A realistic history built through the real services (`caseflow simulate`).

Nothing here writes a row of its own: customers, users, cases, steps, claims, deviations, messages,
timers, the SLA sweep and the redesigned version all go through the services in cases/, with a
simulated clock that only moves forward (a discrete-event loop over every open case).

The patterns are a `Patterns` object (defaults below):
- one step skipped for one reason in a share of cases (Agree appointment, 30%, "customer already
  confirmed"), until a second version of that process without the step is deployed and activated
  part-way through (`fix_at`): the redesign the insights pages should show working;
- a rework loop (back from the activation test to the installation);
- an overridden decision (the credit approval limit in billing inquiries);
- SLA breaches: some steps take longer than their target, more often for one team;
- repeat contacts, ad-hoc steps, reassignments, deadline extensions, holds and cancellations
  (cancels by a supervisor, who needs no approval);
- customers who reply to a complaint's check-back question, mass outages cleared by a broadcast
  signal, and workers that fetch and complete external tasks, now and then throwing the BPMN error
  that sends the step to a person (cases/simulate_outside.py).
"""
from __future__ import annotations

import heapq
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlmodel import Session, select

from engine import store
from engine.forms import Form, FormField

from . import simulate_outside as outside
from . import sla_sweep
from .case_models import Case, WorkItem
from .case_service import complete_step, get_case, open_case
from .customers import Customer, create_customer
from .definitions import deploy_file
from .deviation_service import (
    add_task,
    cancel,
    extend_deadline,
    go_back,
    hold,
    override_decision,
    reassign,
    resume,
    skip,
)
from .errors import CaseError, Forbidden
from .messages import deliver_message
from .reason_codes import sync_reason_codes
from .timers import advance_due_timers
from .users import User, create_user

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DI = "http://www.omg.org/spec/DD/20100524/DI"
REPEAT_CONTACT = "customer_contacted_again"
TEAMS = ("Customer Care", "Network Operations", "Field Operations", "Billing",
         "Customer Relations", "Retention", "Supervisors")
SWEEP_EVERY = timedelta(hours=1)


@dataclass
class Patterns:
    """What the simulated agents do, and how often."""

    mix: dict[str, float] = field(default_factory=lambda: {
        "install_service": 0.35, "restore_service": 0.25, "billing_inquiry": 0.2,
        "complaint": 0.1, "change_service": 0.1})
    channels: dict[str, float] = field(default_factory=lambda: {
        "phone": 0.5, "web": 0.25, "store": 0.1, "email": 0.1, "social": 0.05})
    # one step skipped for one reason ...
    skip_process: str = "install_service"
    skip_element: str = "Task_AgreeAppointment"
    skip_rate: float = 0.30
    skip_reason: str = "customer_already_confirmed"
    # ... until the redesign without that step is deployed, at this share of the period
    fix_at: float | None = 0.5
    # a rework loop
    rework_process: str = "install_service"
    rework_at: str = "Task_ActivationTest"
    rework_to: str = "Task_InstallOnSite"
    rework_rate: float = 0.15
    rework_reason: str = "previous_step_done_wrong"
    # an overridden decision (decided before the gateway is reached)
    override_process: str = "billing_inquiry"
    override_when: str = "Task_DetermineAdjustment"
    override_gateway: str = "Gateway_AboveLimit"
    override_target: str = "Gateway_Apply"  # the merge in front of Apply the adjustment
    override_rate: float = 0.35
    override_reason: str = "decision_rule_wrong"
    # SLA breaches: share of steps done late, higher for one team
    breach_rate: float = 0.06
    breach_team: str = "Field Operations"
    breach_team_rate: float = 0.30
    # the rest of what happens (chances per action on a case; a case sees about six actions)
    repeat_contact_rate: float = 0.10
    add_task_rate: float = 0.015
    add_task_title: str = "Send written confirmation"
    add_task_reason: str = "customer_asked_for_written_confirmation"
    reassign_rate: float = 0.01
    extend_rate: float = 0.015
    hold_rate: float = 0.008
    cancel_rate: float = 0.005
    # Boolean form fields: chance of True (others: 0.8); enum fields: first value's chance.
    true_rates: dict[str, float] = field(default_factory=lambda: {
        "address_serviceable": 0.93, "activation_ok": 0.88, "service_working": 0.96,
        "vulnerable_customer": 0.05, "area_outage": 0.1, "remote_fix_possible": 0.5,
        "service_restored": 0.9, "invoice_wrong": 0.6, "root_cause_in_billing": 0.3,
        "credit_approved": 0.85, "complaint_justified": 0.6, "customer_accepts": 0.9,
        "offer_accepted": 0.5})
    first_enum_rate: float = 0.7
    # the outside world: customers who answer in writing, outages cleared before the second look
    reply_rate: float = 0.6
    outage_clear_rate: float = 0.85
    # external-task workers: what they report per topic, and how often the BPMN error instead
    external_results: dict[str, dict] = field(default_factory=lambda: {
        "network.provision": {"network_port": "SIM-OLT1-P01", "line_profile": "p500"},
        "network.remote_fix": {"remote_action": "port_reset"},
        "field.dispatch": {"repair_date": "{tomorrow}", "repair_slot": "repair_am",
                           "technician_id": "T-SIM"}})
    external_errors: dict[str, str] = field(default_factory=lambda: {
        "network.provision": "PROVISION_FAILED", "network.remote_fix": "REMOTE_FIX_FAILED",
        "field.dispatch": "NO_REPAIR_SLOT"})
    external_error_rate: float = 0.2


@dataclass
class Result:
    cases: int = 0
    resolved: int = 0
    actions: int = 0
    deviations: dict[str, int] = field(default_factory=dict)
    redesigned: list[str] = field(default_factory=list)
    stuck: int = 0
    replies: int = 0
    signals: int = 0
    external: int = 0  # external tasks done by simulated workers (completed or errored)
    errors: list[str] = field(default_factory=list)


def without_step(bpmn: bytes, element_id: str) -> bytes:
    """Return a copy of a BPMN file with one step taken out: its incoming flow goes straight on.

    The step must have one incoming and one outgoing sequence flow and no boundary events. Its
    shape and the outgoing flow's edge are dropped; the incoming edge is extended along the old
    outgoing edge to the next element.
    """
    root = etree.fromstring(bpmn)
    ns = {"bpmn": BPMN, "bpmndi": BPMNDI}
    step = root.find(f".//bpmn:*[@id='{element_id}']", ns)
    if step is None:
        raise ValueError(f"No element '{element_id}'")
    if root.find(f".//bpmn:boundaryEvent[@attachedToRef='{element_id}']", ns) is not None:
        raise ValueError(f"'{element_id}' has boundary events")
    incoming = root.findall(f".//bpmn:sequenceFlow[@targetRef='{element_id}']", ns)
    outgoing = root.findall(f".//bpmn:sequenceFlow[@sourceRef='{element_id}']", ns)
    if len(incoming) != 1 or len(outgoing) != 1:
        raise ValueError(f"'{element_id}' needs exactly one incoming and one outgoing flow")
    flow_in, flow_out = incoming[0], outgoing[0]
    target_id = flow_out.get("targetRef")
    flow_in.set("targetRef", target_id)
    target = root.find(f".//bpmn:*[@id='{target_id}']", ns)
    for ref in target.findall("bpmn:incoming", ns):
        if ref.text == flow_out.get("id"):
            ref.text = flow_in.get("id")
    step.getparent().remove(step)
    flow_out.getparent().remove(flow_out)
    for ref in root.findall(".//bpmn:flowNodeRef", ns):
        if ref.text == element_id:
            ref.getparent().remove(ref)
    edge_out = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow_out.get('id')}']", ns)
    edge_in = root.find(f".//bpmndi:BPMNEdge[@bpmnElement='{flow_in.get('id')}']", ns)
    if edge_in is not None and edge_out is not None:
        for point in edge_out.findall(f"{{{DI}}}waypoint")[1:]:
            edge_in.append(point)
    for di in root.findall(".//bpmndi:*[@bpmnElement]", ns):
        if di.get("bpmnElement") in (element_id, flow_out.get("id")):
            di.getparent().remove(di)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# ---- form data -------------------------------------------------------------------------------------


def _value(f: FormField, rnd: random.Random, now: datetime, p: Patterns) -> Any:
    if f.type == "boolean":
        return rnd.random() < p.true_rates.get(f.id, 0.8)
    if f.type == "enum" and f.values:
        if rnd.random() < p.first_enum_rate:
            return f.values[0].id
        return rnd.choice(f.values).id
    if f.type == "long":
        low = int(f.min) if f.min is not None else 0
        high = int(f.max) if f.max is not None else max(low, 500)
        return rnd.randint(low, min(high, low + 500))
    if f.type == "date":
        return (now.date() + timedelta(days=rnd.randint(1, 10))).isoformat()
    text = f"Simulated {f.label.lower()}"[: f.maxlength or 200]
    return text.ljust(f.minlength or 0, ".")


def form_data(form: Form | None, rnd: random.Random, now: datetime, p: Patterns) -> dict:
    """Return plausible values for a step's form (required and most optional fields)."""
    if form is None:
        return {}
    return {f.id: _value(f, rnd, now, p) for f in form.fields
            if not f.readonly and (f.required or f.type != "string" or rnd.random() < 0.7)}


# ---- the simulation ---------------------------------------------------------------------------------


class Simulation:
    def __init__(self, session: Session, *, start: datetime, days: float, seed: int,
                 patterns: Patterns | None = None, bpmn_dir: Path | None = None):
        self.s = session
        self.start, self.end = start, start + timedelta(days=days)
        self.rnd = random.Random(seed)
        # who begins a step and when: a stream of its own, so the history's other choices stay
        # what they were for a seed before steps were begun ahead of their completion
        self.work_rnd = random.Random(seed * 7919 + 1)
        self.seed = seed
        self.p = patterns or Patterns()
        self.bpmn_dir = bpmn_dir or Path(__file__).resolve().parent.parent / "bpmn"
        self.result = Result()
        self.queue: list[tuple[datetime, int, str, int]] = []
        self._n = 0
        self.users: dict[str, list[User]] = {}
        self.supervisor: User | None = None
        self.customers: list[int] = []
        self.reworked: set[int] = set()
        self.contacted: set[int] = set()
        self.overridden: set[int] = set()
        self.checks: dict[int, int] = {}
        self.last_sweep = start
        self.fixed = False
        self.case_ids: list[int] = []
        self.wake: dict[int, datetime] = {}  # case id -> when the outside world moves it on
        self.outage_clears_at: datetime | None = None

    # -- set-up through the services
    def prepare(self, n_customers: int) -> None:
        sync_reason_codes(self.s, path=self.bpmn_dir / "reason_codes.toml")
        for pid in self.p.mix:
            if store.active_version(self.s, pid) is None:
                path = self.bpmn_dir / f"{pid}.bpmn"
                deploy_file(self.s, path.read_bytes(), filename=path.name, actor="simulator",
                            now=self.start, activate=True)
        existing = {u.username: u for u in self.s.exec(select(User)).all()}
        for team in TEAMS:
            slug = "".join(w[0] for w in team.lower().split())
            for i in (1, 2):
                name = f"sim_{slug}{i}"
                role = "supervisor" if team == "Supervisors" else "agent"
                user = existing.get(name) or create_user(
                    self.s, username=name, password=secrets.token_urlsafe(12), role=role,
                    now=self.start, display_name=f"{team} agent {i} (simulated)", teams=[team])
                self.users.setdefault(team, []).append(user)
        self.s.commit()
        self.supervisor = self.users["Supervisors"][0]
        for i in range(n_customers):
            account = f"SIM-{self.seed}-{i:05d}"
            found = self.s.exec(select(Customer.id).where(Customer.account_number == account)).first()
            if found is None:
                found = create_customer(self.s, actor="simulator", now=self.start,
                                        name=f"Simulated customer {i}", account_number=account).id
            self.customers.append(found)

    def push(self, at: datetime, kind: str, ref: int) -> None:
        self._n += 1
        heapq.heappush(self.queue, (at, self._n, kind, ref))

    def _pick(self, weights: dict[str, float]) -> str:
        return self.rnd.choices(list(weights), weights=list(weights.values()))[0]

    def _agent(self, team: str | None) -> User:
        return self.rnd.choice(self.users.get(team or "", []) or self.users["Customer Care"])

    def _duration(self, item: WorkItem) -> timedelta:
        target = (item.due_at - item.created_at) if item.due_at else timedelta(hours=4)
        late = self.p.breach_team_rate if item.team == self.p.breach_team else self.p.breach_rate
        share = self.rnd.uniform(1.1, 2.5) if self.rnd.random() < late else self.rnd.uniform(0.1, 0.8)
        return max(timedelta(minutes=2), target * share)

    # -- the loop
    def run(self, cases: int, progress: Callable[[int], None] | None = None) -> Result:
        self.prepare(max(1, cases // 2))
        span = (self.end - self.start).total_seconds()
        arrivals = sorted(self.rnd.uniform(0, span * 0.9) for _ in range(cases))
        for i, offset in enumerate(arrivals):
            self.push(self.start + timedelta(seconds=offset), "open", i)
        fix_time = (self.start + timedelta(seconds=span * self.p.fix_at)
                    if self.p.fix_at is not None else None)
        while self.queue:
            at, _, kind, ref = heapq.heappop(self.queue)
            if at > self.end:
                break
            if fix_time is not None and not self.fixed and at >= fix_time:
                self.redesign(at)
            self.sweeps(at)
            try:
                if kind == "open":
                    self.open(at, ref)
                    if progress:
                        progress(1)
                elif kind == "resume":
                    self.resume(at, ref)
                elif kind == "reply":
                    outside.reply(self, at, ref)
                elif kind == "outage_cleared":
                    outside.clear_outage(self, at)
                elif kind == "look":
                    self.next(ref, at)
                elif kind == "worker":
                    outside.work_external(self, at, ref)
                elif kind == "begin":
                    self.begin(at, ref)
                else:
                    self.act(at, ref)
            except CaseError as err:  # a refusal is part of life: note it, move on
                self.s.rollback()
                self.result.errors.append(f"case {ref} at {at:%Y-%m-%d %H:%M}: {err}")
                if kind == "act":
                    self.push(at + timedelta(hours=1), "act", ref)
        if self.case_ids:
            self.result.resolved = len(self.s.exec(select(Case.id).where(
                Case.id.in_(self.case_ids), Case.status == "resolved")).all())
        return self.result

    def sweeps(self, at: datetime) -> None:
        """Fire due timers and run the SLA sweep as the clock passes each hour."""
        if at - self.last_sweep < SWEEP_EVERY:
            return
        self.last_sweep = at
        while advance_due_timers(self.s, now=at, limit=100) == 100:
            pass
        sla_sweep.sweep(self.s, now=at)
        for item in self.s.exec(select(WorkItem).where(
                WorkItem.kind == sla_sweep.ESCALATION_KIND, WorkItem.state == "open",
                WorkItem.case_id.in_(self.case_ids or [0]))).all():
            if self.rnd.random() < 0.5:
                sla_sweep.resolve_escalation(self.s, actor=self.supervisor, now=at,
                                             work_item_id=item.id, note="Chased the team (simulated)")

    def redesign(self, at: datetime) -> None:
        """Deploy and activate the process without its often-skipped step (the redesign)."""
        self.fixed = True
        path = self.bpmn_dir / f"{self.p.skip_process}.bpmn"
        data = without_step(path.read_bytes(), self.p.skip_element)
        result = deploy_file(self.s, data, filename=path.name, actor="simulator", now=at,
                             activate=True)
        self.result.redesigned += [f"{v.process_id} v{v.version}" for v in result.versions]

    def open(self, at: datetime, i: int) -> None:
        pid = self._pick(self.p.mix)
        case = open_case(self.s, actor=self._agent("Customer Care"), now=at,
                         customer_id=self.rnd.choice(self.customers), process_id=pid,
                         channel=self._pick(self.p.channels),
                         contacted_at=at - timedelta(minutes=self.rnd.randint(0, 90)))
        self.case_ids.append(case.id)
        self.result.cases += 1
        self.next(case.id, at)

    def next(self, case_id: int, at: datetime) -> None:
        """Schedule the next action on a case: when its oldest open step will be done."""
        case = get_case(self.s, case_id)
        if case.status in ("resolved", "cancelled"):
            return
        item = self._open_item(case_id)
        if item is None and outside.waits_for_worker(self, case_id):
            self.push(at + timedelta(minutes=self.rnd.uniform(1, 30)), "worker", case_id)
            return
        if item is None:  # waiting for a timer, a message or a signal: look again later
            self.checks[case_id] = self.checks.get(case_id, 0) + 1
            if self.checks[case_id] > 40:
                self.result.stuck += 1
                return
            self._look_again(case_id, at)
            return
        done = max(at, item.created_at + self._duration(item))
        self.push(done, "act", case_id)
        if item.assignee_id is None:  # someone takes it some time before it is done
            start = max(at, item.created_at)
            self.push(done - (done - start) * self.work_rnd.uniform(0.2, 0.6), "begin", item.id)

    def begin(self, at: datetime, item_id: int) -> None:
        """A person of the step's team claims it and starts working (nobody if it moved on)."""
        from .work_items import claim

        item = self.s.get(WorkItem, item_id, populate_existing=True)
        if item is None or item.state != "open" or item.assignee_id is not None:
            return
        if get_case(self.s, item.case_id).status != "open":
            return
        team = self.users.get(item.team or "", []) or self.users["Customer Care"]
        try:
            claim(self.s, actor=self.work_rnd.choice(team), now=at, work_item_id=item_id)
        except CaseError:  # e.g. the step is a check this person may not take
            self.s.rollback()

    def _look_again(self, case_id: int, at: datetime) -> None:
        """Look at a waiting case in 12 hours, or as soon as the outside world moves it on."""
        wake = self.wake.get(case_id)
        if wake is not None and wake <= at:
            del self.wake[case_id]
        elif wake is not None and wake < at + timedelta(hours=12):
            del self.wake[case_id]
            self.push(wake, "look", case_id)
            return
        self.push(at + timedelta(hours=12), "act", case_id)

    def _open_item(self, case_id: int) -> WorkItem | None:
        return self.s.exec(select(WorkItem).where(
            WorkItem.case_id == case_id, WorkItem.state == "open",
            WorkItem.kind != sla_sweep.ESCALATION_KIND).order_by(WorkItem.id)
            .execution_options(populate_existing=True)).first()

    def _deviation(self, kind: str) -> None:
        self.result.deviations[kind] = self.result.deviations.get(kind, 0) + 1

    def resume(self, at: datetime, case_id: int) -> None:
        case = get_case(self.s, case_id)
        if case.status == "on_hold":
            resume(self.s, actor=self._agent("Customer Care"), now=at, case_id=case_id,
                   expected_version=case.row_version, reason_code="customer_available_again",
                   note="Customer is back (simulated)")
            self._deviation("resume")
        self.next(case_id, at)

    def act(self, at: datetime, case_id: int) -> None:
        case = get_case(self.s, case_id)
        if case.status != "open":
            return
        item = self._open_item(case_id)
        if item is None:
            self.next(case_id, at)
            return
        self.result.actions += 1
        p, r, v = self.p, self.rnd.random, case.row_version
        note = "Simulated"
        agent = self._agent(item.team)
        if item.assignee_id is not None:  # whoever began the step is the one who acts on it
            agent = self.s.get(User, item.assignee_id) or agent
        if case.process_id == p.skip_process and item.element_id == p.skip_element \
                and r() < p.skip_rate:
            skip(self.s, actor=agent, now=at, case_id=case_id, expected_version=v,
                 reason_code=p.skip_reason, note="Customer confirmed it already (simulated)",
                 work_item_id=item.id)
            self._deviation("skip")
        elif case.process_id == p.rework_process and item.element_id == p.rework_at \
                and case_id not in self.reworked and r() < p.rework_rate:
            self.reworked.add(case_id)
            go_back(self.s, actor=agent, now=at, case_id=case_id, expected_version=v,
                    reason_code=p.rework_reason, note="Redo: previous step done wrong (simulated)",
                    element_id=p.rework_to)
            self._deviation("go_back")
        elif case.process_id == p.override_process and item.element_id == p.override_when \
                and case_id not in self.overridden and r() < p.override_rate:
            self.overridden.add(case_id)
            override_decision(self.s, actor=self.supervisor, now=at, case_id=case_id,
                              expected_version=v, reason_code=p.override_reason,
                              note="Limit too low for this kind of credit (simulated)",
                              gateway_id=p.override_gateway, target_id=p.override_target)
            self._deviation("override_decision")
            self.push(at, "act", case_id)  # the step itself is still to be done
            return
        elif case_id not in self.contacted and r() < p.repeat_contact_rate \
                and self._waits_for_contact(case):
            self.contacted.add(case_id)
            deliver_message(self.s, actor=self._agent("Customer Care"), now=at, case_id=case_id,
                            name=REPEAT_CONTACT, expected_version=v)
        elif r() < p.cancel_rate:
            cancel(self.s, actor=self.supervisor, now=at, case_id=case_id, expected_version=v,
                   reason_code="customer_withdrew", note="Customer withdrew (simulated)")
            self._deviation("cancel")
            return
        elif r() < p.hold_rate:
            hold(self.s, actor=agent, now=at, case_id=case_id, expected_version=v,
                 reason_code="customer_away", note="Customer away (simulated)")
            self._deviation("hold")
            self.push(at + timedelta(days=self.rnd.uniform(1, 4)), "resume", case_id)
            return
        elif r() < p.add_task_rate and not item.element_id.startswith("adhoc:"):
            add_task(self.s, actor=agent, now=at, case_id=case_id, expected_version=v,
                     reason_code=p.add_task_reason, note="Customer asked for it (simulated)",
                     title=p.add_task_title, team="Customer Care",
                     due_at=at + timedelta(days=1))
            self._deviation("add_task")
        elif r() < p.reassign_rate and len(self.users.get(item.team or "", [])) > 1:
            other = next(u for u in self.users[item.team] if u.id != item.assignee_id)
            reassign(self.s, actor=self.supervisor, now=at, case_id=case_id, expected_version=v,
                     reason_code="assignee_absent", note="Holder is off sick (simulated)",
                     work_item_id=item.id, assignee_id=other.id)
            self._deviation("reassign")
            self.push(at + timedelta(minutes=30), "act", case_id)
            return
        elif r() < p.extend_rate and item.due_at is not None and item.due_at > at:
            extend_deadline(self.s, actor=agent, now=at, case_id=case_id, expected_version=v,
                            reason_code="third_party_delay", note="Waiting on a supplier (simulated)",
                            due_at=item.due_at + timedelta(days=1), work_item_id=item.id)
            self._deviation("extend_deadline")
            self.push(at + timedelta(hours=6), "act", case_id)
            return
        else:
            self.complete(at, case, item, agent, note)
        self.next(case_id, at)

    def _waits_for_contact(self, case: Case) -> bool:
        _, live = store.load_instance(self.s, case.instance_id)
        waiting = REPEAT_CONTACT in live.waiting_messages()
        self.s.rollback()
        return waiting

    def complete(self, at: datetime, case: Case, item: WorkItem, agent: User, note: str) -> None:
        from .work_items import claim

        if item.assignee_id is not None:
            agent = self.s.get(User, item.assignee_id) or agent
        else:
            claim(self.s, actor=agent, now=at, work_item_id=item.id)
        form = store.compiled_by_id(self.s, case.definition_id).forms.get(item.element_id)
        try:
            complete_step(self.s, actor=agent, now=at, case_id=case.id, work_item_id=item.id,
                          data=form_data(form, self.rnd, at, self.p),
                          expected_version=get_case(self.s, case.id).row_version)
        except Forbidden:  # the policy keeps whoever opened a check from deciding it
            self.s.rollback()
            self._hand_on(at, case.id, item, agent)
            return
        outside.after_step(self, at, case, item.element_id)

    def _hand_on(self, at: datetime, case_id: int, item: WorkItem, holder: User) -> None:
        """A colleague of the team takes over a step its holder may not complete."""
        colleague = next((u for u in self.users.get(item.team or "", []) if u.id != holder.id),
                         None)
        if colleague is None:
            raise Forbidden(f"Nobody else in {item.team} may complete {item.element_id}")
        reassign(self.s, actor=colleague, now=at, case_id=case_id,
                 expected_version=get_case(self.s, case_id).row_version,
                 reason_code="internal_other", note="Opened this check, so a colleague decides it "
                 "(simulated)", work_item_id=item.id, assignee_id=colleague.id)
        self._deviation("reassign")


def simulate(session: Session, *, cases: int, days: float, seed: int, end: datetime,
             patterns: Patterns | None = None, bpmn_dir: Path | None = None,
             progress: Callable[[int], None] | None = None) -> Result:
    """Build `cases` cases over the `days` before `end`; return what happened."""
    sim = Simulation(session, start=end - timedelta(days=days), days=days, seed=seed,
                     patterns=patterns, bpmn_dir=bpmn_dir)
    return sim.run(cases, progress)
