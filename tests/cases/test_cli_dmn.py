"""`caseflow validate` and `caseflow deploy` with decision tables and forms (issue 18)."""
from __future__ import annotations

from typer.testing import CliRunner

from cases.cli import app
from tests.cases.test_cli import env  # noqa: F401 - the fixture: a migrated SQLite file
from tests.conftest import DATA

runner = CliRunner()
SET = DATA / "camunda_set"


def test_deploy_a_process_with_its_table_and_forms(env):  # noqa: F811
    files = [str(SET / n) for n in ("credit_check.bpmn", "credit_limit.dmn", "application.form",
                                    "confirm_offer.form")]
    result = runner.invoke(app, ["deploy", *files, "--activate"])
    assert result.exit_code == 0, result.output
    assert "credit_limit.dmn, application.form, confirm_offer.form: stored" in result.output
    assert "deployed Process_CreditCheck v1 (active)" in result.output


def test_deploy_without_the_table_names_the_missing_decision(env):  # noqa: F811
    result = runner.invoke(app, ["deploy", str(SET / "credit_check.bpmn")])
    assert result.exit_code == 1 and "Decision_CreditLimit" in result.output


def test_validate_checks_dmn_and_form_files(env, tmp_path):  # noqa: F811
    assert runner.invoke(app, ["validate", str(SET / "credit_limit.dmn")]).exit_code == 0
    bad = tmp_path / "bad.form"
    bad.write_text('{"components": []}')
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1 and "has no form id" in result.output
