"""Schemathesis against /api/openapi.json, in-process on the ASGI app, with an agent's API token.

Every operation of the JSON API gets generated requests, valid ones and (negative mode) invalid
ones; each answer must be no 5xx, a documented status, of the documented content type and
matching the documented schema (the refusal shape included). Seeded and small, so CI repeats
the same run in well under a minute, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode
from sqlmodel import Session

from cases.api_tokens import issue_token
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, DATABASES, T0, migrated_database
from web.app import create_app

MAX_EXAMPLES = 10  # per operation and mode: about 400 requests, some seconds per database
CHECKS = [getattr(schemathesis.checks, name) for name in (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance")]
# negative_data_rejection is left out: it counts a query value such as status=false as invalid
# for a string parameter, though every query value arrives as text.


@pytest.fixture(scope="module", params=DATABASES)
def db(request, tmp_path_factory):
    """A migrated database for the module: a SQLite file, or a fresh PostgreSQL schema."""
    with migrated_database(request.param, tmp_path_factory.mktemp("schemathesis")) as url:
        yield url


@pytest.fixture(scope="module")
def api_app(db, tmp_path_factory):
    """The real app: a deployed process, an agent with a token, one open case."""
    app = create_app(Settings(database_url=db, secret_key="x" * 40,
                              attachment_dir=tmp_path_factory.mktemp("attachments")))
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        agent = create_user(s, username="agent", password="correct horse battery",
                            role="agent", now=T0, teams=["Customer Care"])
        s.commit()
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-1")
        open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="dev_process",
                  channel="phone")
        _, app.state.test_token = issue_token(s, user=agent, name="schemathesis", now=T0)
    yield app
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_asgi("/api/openapi.json", api_app).include(
        path_regex="^/api/")


def _run(operation, mode: GenerationMode, headers: dict) -> None:
    """Up to MAX_EXAMPLES seeded requests of one kind to one operation, every check on each."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_the_api_answers_as_documented(api_schema, api_app):
    # One test walking the operations (schemathesis's own pytest loader does not run on this
    # pytest); every failing operation is reported, not only the first.
    headers = {"Authorization": f"Bearer {api_app.state.test_token}"}
    failures, seen = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        seen += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, headers)
            except Unsatisfiable:  # nothing to send wrongly (GET /api/health, /api/ready)
                continue
            except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported together
                failures.append(f"{operation.label} ({mode}): {failure}")
    assert seen >= 10, "the OpenAPI lists the API's operations"
    assert not failures, "\n\n".join(failures)


def test_the_openapi_documents_the_token_and_the_refusals(api_app):
    doc = TestClient(api_app).get("/api/openapi.json").json()
    assert doc["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    refusal = doc["components"]["schemas"]["RefusalDetail"]["properties"]
    assert {"message", "errors", "submitted", "element_id"} <= set(refusal)
    operations = [(path, method, op) for path, ops in doc["paths"].items()
                  if path.startswith("/api/") and path not in ("/api/health", "/api/ready")
                  for method, op in ops.items()]
    assert len(operations) >= 10
    for path, method, op in operations:
        assert op.get("security") == [{"ApiToken": []}], (method, path)
        for status in ("401", "403", "404", "409", "422"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/Refusal"), (method, path, status)
    case = doc["paths"]["/api/cases/{case_id}"]["get"]["responses"]["200"]
    assert case["content"]["application/json"]["schema"]["$ref"].endswith("/CaseOut")
    assert not [p for p in doc["paths"] if p.startswith(("/work", "/cases", "/designer",
                                                         "/insights"))], "pages are not the API"
