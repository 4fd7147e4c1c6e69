"""Webhooks end to end: the outbox is written iff an action commits; a real HTTP receiver on
127.0.0.1 gets every event of a case in order, signed as the README says, and the ones it missed
while it was down; failed deliveries are listed and replayed; unsafe URLs are refused."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import events
from cases.case_models import WorkItem
from cases.case_service import complete_step, engine_action, open_case
from cases.definitions import deploy_file
from cases.errors import Conflict, InvalidInput, ProcessFailed
from cases.events import CaseEvent
from cases.incidents.models import Incident
from cases.jobs.executor import Executor
from cases.jobs.models import Job
from cases.outbox.models import PUBLISHED, OutboxEvent
from cases.webhooks import service as hooks
from cases.webhooks import urls
from cases.webhooks.models import WebhookDelivery
from tests.conftest import DATA, T0
from tests.receiver import Receiver, readme_verify

from .test_case_service import HAPPY_PATH

verify = readme_verify()
# The order, retry, replay and commit tests run on both databases; the rest only on SQLite.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def allow_loopback(monkeypatch):
    monkeypatch.setenv("CASEFLOW_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")


@pytest.fixture
def receiver(allow_loopback):
    found = Receiver().start()
    yield found
    found.stop()


def _open(session, people, customer, now=T0):
    return open_case(session, actor=people.ann, now=now, customer_id=customer.id,
                     process_id="install_service", channel="phone", data={})


def _step(session, people, case, now):
    """Complete the case's next happy-path step."""
    items = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                WorkItem.state == "open")).all()
    element_id, data = next((e, d) for e, d in HAPPY_PATH if e in {i.element_id for i in items})
    item = next(i for i in items if i.element_id == element_id)
    actor = people.ann if item.team == "Customer Care" else people.fran
    return complete_step(session, actor=actor, now=now, case_id=case.id, work_item_id=item.id,
                         data=data, expected_version=case.row_version)


def _published(session, case_id):
    return [e.type for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                         .order_by(CaseEvent.seq)).all() if e.type in PUBLISHED]


def _executor(session, clock):
    executor = Executor(session.get_bind(), clock=clock)
    executor.ensure_periodic()
    return executor


def _bodies(receiver):
    return [json.loads(r.body) for r in receiver.got]


def _subscribe(session, url, events="*", processes=()):
    return hooks.add_subscription(session, actor="admin", now=T0, url=url, events=events,
                                  processes=processes)


def test_receiver_gets_every_event_of_a_case_in_order_signed(session, install, people, customer,
                                                             receiver, clock):
    sub, secret = _subscribe(session, receiver.url)
    case = _open(session, people, customer)
    for minutes in (10, 20, 30):
        case = _step(session, people, case, T0 + timedelta(minutes=minutes))
    _executor(session, clock).run_until_idle()
    bodies = _bodies(receiver)
    assert [b["type"] for b in bodies] == _published(session, case.id)
    assert bodies[0]["type"] == "case_opened" and "task_completed" in [b["type"] for b in bodies]
    assert [b["data"]["seq"] for b in bodies] == sorted(b["data"]["seq"] for b in bodies)
    first = bodies[0]
    assert (first["case_id"], first["process_id"]) == (case.id, "install_service")
    assert set(first) == {"id", "type", "case_id", "process_id", "at", "data"}
    for got in receiver.got:
        assert got.path == "/hooks/caseflow?src=test"
        assert got.headers["Caseflow-Event-Id"] == json.loads(got.body)["id"]
        assert verify(secret, got.headers["Caseflow-Signature"], got.body,
                      now=clock.now.timestamp())
        assert not verify("whsec_wrong", got.headers["Caseflow-Signature"], got.body,
                          now=clock.now.timestamp())
        assert not verify(secret, got.headers["Caseflow-Signature"], got.body + b" ",
                          now=clock.now.timestamp())
    assert {d.status for d in hooks.list_deliveries(session)} == {"delivered"}


def test_events_missed_while_the_receiver_was_down_arrive_in_order(session, install, people,
                                                                    customer, receiver, clock):
    _subscribe(session, receiver.url)
    case = _open(session, people, customer)
    receiver.status = 503
    executor = _executor(session, clock)
    executor.run_until_idle()
    assert [b["type"] for b in _bodies(receiver)] == ["case_opened"], "the rest wait behind it"
    case = _step(session, people, case, clock.advance(seconds=5))
    receiver.stop()  # and now it is not even listening
    clock.advance(seconds=10)
    executor.run_until_idle()
    assert len(receiver.got) == 1, "the second attempt was refused at the door"
    [head] = [d for d in hooks.list_deliveries(session) if d.event_type == "case_opened"]
    assert (head.status, head.attempts, head.last_status_code) == ("pending", 2, None)
    assert "Connection" in head.last_error and len(json.loads(head.log)) == 2
    receiver.status = 200
    receiver.start()  # back on the same port
    clock.advance(seconds=20)
    executor.run_until_idle()
    types = [b["type"] for b in _bodies(receiver)]
    assert types[0] == types[1] == "case_opened", "at least once: the 503'd one came again"
    assert len({b["id"] for b in _bodies(receiver)[:2]}) == 1, "with the same event id"
    assert types[1:] == _published(session, case.id)
    assert {d.status for d in hooks.list_deliveries(session)} == {"delivered"}


def test_a_delivery_failing_for_good_is_listed_not_an_incident_and_can_be_replayed(
        session, install, people, customer, receiver, clock, monkeypatch):
    monkeypatch.setenv("CASEFLOW_WEBHOOK_MAX_ATTEMPTS", "2")
    _subscribe(session, receiver.url, events="case_opened,task_opened")
    case = _open(session, people, customer)
    receiver.status = 503
    executor = _executor(session, clock)
    executor.run_until_idle()
    clock.advance(seconds=10)
    executor.run_until_idle()
    [failed] = hooks.list_deliveries(session, failed_only=True)
    assert (failed.event_type, failed.attempts, failed.last_status_code) == ("case_opened", 2, 503)
    assert failed.last_response == "try again later"
    assert session.exec(select(Incident)).all() == [], "a receiver down is not the case's fault"
    assert session.exec(select(Job).where(Job.kind == "webhook", Job.state == "failed")).all() == []
    assert [b["type"] for b in _bodies(receiver)][-1] == "task_opened", "the next one went on"
    receiver.status = 200
    with pytest.raises(Conflict):
        hooks.replay(session, actor="admin", now=clock.now,
                     delivery_id=hooks.list_deliveries(session)[0].id)  # still pending
    executor.run_until_idle()  # task_opened is delivered now
    hooks.replay(session, actor="admin", now=clock.now, delivery_id=failed.id)
    executor.run_until_idle()
    last = receiver.got[-1]
    assert json.loads(last.body)["type"] == "case_opened"
    assert last.headers["Caseflow-Event-Id"] == json.loads(receiver.got[0].body)["id"]
    assert hooks.get_delivery(session, failed.id).status == "delivered"
    assert hooks.list_deliveries(session, failed_only=True) == []


def test_the_outbox_holds_an_event_iff_its_action_committed(session, people, customer):
    deploy_file(session, (DATA / "scripts.bpmn").read_bytes(), filename="scripts.bpmn",
                actor="designer", now=T0, activate=True)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="script_process", channel="phone", data={})
    before = [o.type for o in session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all()]
    assert before == ["case_opened", "task_opened"]
    with pytest.raises(RuntimeError):
        with engine_action(session, actor=people.ann, now=T0, case_id=case.id,
                           expected_version=case.row_version) as action:
            events.record(session, action.case, "case_resolved", actor="ann", at=T0)
            raise RuntimeError("the action fails after recording its event")
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all()
    with pytest.raises(ProcessFailed):
        complete_step(session, actor=people.ann, now=T0, case_id=case.id, work_item_id=item.id,
                      data={"items": "not a list", "spin": False},
                      expected_version=case.row_version)
    session.expire_all()
    after = [o.type for o in session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all()]
    assert after == before + ["incident_opened"], "only the incident, which did commit"
    assert _published(session, case.id) == after


def test_attachment_events_reach_receivers_with_the_file_facts_never_its_bytes(
        session, install, people, customer, receiver, clock, tmp_path):
    from cases.attachments import service as attachments
    from cases.attachments.storage import AttachmentStore

    pdf = b"%PDF-1.7\n" + b"1 0 obj << /Secret (bank details) >> endobj\n" * 20 + b"%%EOF\n"
    store = AttachmentStore(tmp_path / "files", max_bytes=64 * 1024)
    _subscribe(session, receiver.url, events=["attachment_added", "attachment_deleted"])
    case = _open(session, people, customer)
    row = attachments.add(session, actor=people.ann, now=T0, case_id=case.id,
                          source=io.BytesIO(pdf), filename="invoice.pdf",
                          description="March invoice", store=store)
    attachments.delete(session, actor=people.sam, now=T0 + timedelta(minutes=1), case_id=case.id,
                       attachment_id=row.id, reason="Another customer's invoice", store=store)
    _executor(session, clock).run_until_idle()
    added, deleted = _bodies(receiver)
    facts = {"attachment_id": row.id, "filename": "invoice.pdf", "size": len(pdf),
             "content_type": "application/pdf"}
    assert (added["type"], added["data"]["actor"]) == ("attachment_added", "ann")
    assert {k: added["data"]["details"][k] for k in facts} == facts
    assert added["data"]["details"]["sha256"] == row.sha256
    assert (deleted["type"], deleted["data"]["actor"]) == ("attachment_deleted", "sam")
    assert {k: deleted["data"]["details"][k] for k in facts} == facts
    assert deleted["data"]["details"]["reason"] == "Another customer's invoice"
    for got in receiver.got:
        assert b"bank details" not in got.body and row.storage_key.encode() not in got.body


@SQLITE_ONLY
def test_subscriptions_filter_by_event_type_and_process_and_pause(session, install, people,
                                                                  customer, receiver, clock):
    sub, _ = _subscribe(session, receiver.url, events=["task_opened"],
                        processes=["install_service"])
    other, _ = _subscribe(session, receiver.url, events="*", processes="complaint")
    _open(session, people, customer)
    executor = _executor(session, clock)
    executor.run_until_idle()
    assert [b["type"] for b in _bodies(receiver)] == ["task_opened"]
    assert hooks.list_deliveries(session, subscription_id=other.id) == []
    hooks.set_active(session, actor="admin", now=T0, subscription_id=sub.id, active=False)
    _open(session, people, customer)
    clock.advance(seconds=5)
    executor.run_until_idle()
    assert len(receiver.got) == 1, "a paused subscription gets nothing new"
    hooks.remove_subscription(session, actor="admin", now=T0, subscription_id=sub.id)
    assert hooks.list_subscriptions(session) == [other]
    assert session.exec(select(WebhookDelivery)).all() == []


@SQLITE_ONLY
def test_a_redirect_is_never_followed_and_the_address_is_checked_again(
        session, install, people, customer, receiver, clock, monkeypatch):
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    _subscribe(session, receiver.url, events="case_opened")
    _open(session, people, customer)
    executor = _executor(session, clock)
    executor.run_until_idle()
    [delivery] = hooks.list_deliveries(session)
    assert delivery.last_status_code == 302 and "never follow redirects" in delivery.last_error
    assert len(receiver.got) == 1
    monkeypatch.setenv("CASEFLOW_WEBHOOK_ALLOW_NETWORKS", "")  # the admin closes loopback
    receiver.status, receiver.location = 200, None
    clock.advance(seconds=10)
    executor.run_until_idle()
    [delivery] = hooks.list_deliveries(session)
    assert "loopback, private" in delivery.last_error and len(receiver.got) == 1


@pytest.mark.parametrize("url, why", [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://127.0.0.1:8080/hook", "loopback, private"),
    ("http://[::1]/hook", "loopback, private"),
    ("http://[::ffff:10.1.2.3]/hook", "loopback, private"),
    ("https://192.168.1.20/hook", "loopback, private"),
    ("http://0.0.0.0/", "loopback, private"),
    ("ftp://example.com/hook", "http:// or https://"),
    ("https://user:pw@93.184.216.34/hook", "no user name"),
    ("https://93.184.216.34:99999/", "port"),
])
def test_unsafe_urls_are_refused_naming_the_url_field(url, why):
    with pytest.raises(InvalidInput) as refused:
        urls.check(url, allow=())
    assert why in refused.value.errors["url"]


def test_an_allowed_network_opens_only_itself_never_link_local(monkeypatch):
    monkeypatch.setenv("CASEFLOW_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8, 169.254.0.0/16")
    assert str(urls.check("http://127.0.0.1:9/hook")[3]) == "127.0.0.1"
    with pytest.raises(InvalidInput, match="link-local"):
        urls.check("http://169.254.169.254/")
    with pytest.raises(InvalidInput, match="loopback, private"):
        urls.check("http://10.0.0.1/")
    assert urls.check("https://93.184.216.34/hook")[:3] == ("https", "93.184.216.34", 443)
    monkeypatch.setenv("CASEFLOW_WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match="10.0.0.0/33"):
        urls.check("https://93.184.216.34/hook")


@SQLITE_ONLY
def test_bad_fields_are_refused_together_and_nothing_is_stored(session):
    with pytest.raises(InvalidInput) as refused:
        _subscribe(session, "http://169.254.169.254/", events="case_opened,case_exploded",
                   processes="ok_process,not a process")
    assert "case_exploded" in refused.value.errors["events"]
    assert "not a process" in refused.value.errors["processes"]
    assert "link-local" in refused.value.errors["url"]
    with pytest.raises(InvalidInput, match="at least one"):
        _subscribe(session, "https://93.184.216.34/", events=" , ")
    assert hooks.list_subscriptions(session) == []
    sub, secret = _subscribe(session, "https://93.184.216.34/hook", events=["task_opened"])
    assert secret.startswith("whsec_") and sub.secret == secret and sub.created_by == "admin"


def test_the_command_line_adds_lists_replays_and_removes(tmp_path, monkeypatch, receiver):
    from typer.testing import CliRunner

    from cases.cli import app
    from cases.customers import create_customer
    from cases.db import make_engine
    from cases.users import create_user
    from sqlmodel import Session

    from .conftest import deploy_shipped

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("CASEFLOW_DATABASE_URL", url)
    monkeypatch.setenv("CASEFLOW_SECRET_KEY", "k" * 40)
    run = CliRunner().invoke
    assert run(app, ["migrate"]).exit_code == 0
    refused = run(app, ["webhooks", "add", "http://169.254.169.254/", "--events", "case_opened"])
    assert refused.exit_code == 1 and "url: Refused" in refused.output
    added = run(app, ["webhooks", "add", receiver.url, "--events", "case_opened"])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = run(app, ["webhooks", "list"]).output
    assert receiver.url in listed and "case_opened" in listed and secret not in listed
    engine = make_engine(url)
    with Session(engine) as session:
        deploy_shipped(session, "install_service")
        ann = create_user(session, username="ann", password="correct horse", role="agent",
                          now=T0, teams=["Customer Care"])
        customer = create_customer(session, actor="ann", now=T0, name="Ada", account_number="C-1")
        open_case(session, actor=ann, now=T0, customer_id=customer.id,
                  process_id="install_service", channel="phone", data={})
    engine.dispose()
    assert run(app, ["worker", "--once"]).exit_code == 0
    assert [b["type"] for b in _bodies(receiver)] == ["case_opened"]
    assert verify(secret, receiver.got[0].headers["Caseflow-Signature"], receiver.got[0].body)
    log = run(app, ["webhooks", "deliveries"]).output
    assert "case_opened" in log and "delivered" in log and "answer 200" in log
    assert run(app, ["webhooks", "deliveries", "--failed"]).output == ""
    delivery_id = log.split()[0]
    assert run(app, ["webhooks", "replay", delivery_id]).exit_code == 0
    assert run(app, ["worker", "--once"]).exit_code == 0
    assert len(receiver.got) == 2 and receiver.got[0].body == receiver.got[1].body
    assert run(app, ["webhooks", "remove", "1"]).output.strip() == "Webhook 1 removed."
    assert run(app, ["webhooks", "remove", "1"]).exit_code == 1


def test_a_bad_allow_list_stops_the_settings_naming_the_cidr():
    from pydantic import ValidationError

    from cases.settings import Settings

    with pytest.raises(ValidationError, match="10.0.0.0/33"):
        Settings(secret_key="k" * 40, webhook_allow_networks="127.0.0.1/32, 10.0.0.0/33")
    assert Settings(secret_key="k" * 40, webhook_allow_networks="10.0.0.0/8").webhook_timeout == 5


@SQLITE_ONLY
def test_a_stream_head_left_without_a_job_is_picked_up_by_the_next_dispatch(
        session, install, people, customer, receiver, clock):
    _subscribe(session, receiver.url)
    case = _open(session, people, customer)
    executor = _executor(session, clock)
    receiver.status = 503
    executor.run_until_idle()
    # as if the head finished while the dispatcher added the next one, each missing the other
    session.execute(sa.delete(Job).where(Job.kind == "webhook"))
    session.commit()
    receiver.status = 200
    clock.advance(seconds=2)
    executor.run_until_idle()
    assert [b["type"] for b in _bodies(receiver)][1:] == _published(session, case.id)
