"""Property-based fuzzing of the v1 API from its own OpenAPI schema (schemathesis): no
request, however malformed, gets a 5xx, and documented answers match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
MAX_EXAMPLES = 12


@pytest.fixture
def manager_of_project(make_user, make_project, labeler, add_member, manager):
    """A manager's token and their real project, so the fuzzer reaches past the permission
    checks (which the permission matrix covers on its own)."""
    from annotation.services.tokens import token_create

    project = make_project(items=5)
    add_member(project, labeler)
    return token_create(user=manager)[1], project.pk


# transactional: the WSGI app closes connections after each request, as in production.
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.slow
def test_api_never_answers_5xx(case, manager_of_project):
    token, project_id = manager_of_project
    if case.path_parameters and "project_id" in case.path_parameters:
        case.path_parameters["project_id"] = project_id
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
