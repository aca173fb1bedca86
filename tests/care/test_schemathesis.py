"""schemathesis against the care API's OpenAPI, through the WSGI app in-process (the whole Django stack but
the socket): every operation with generated input and a care coordinator's bearer token; no server error
(5xx), every response's status code, content type and body as the schema says. Bounded: a few examples per
operation, so the run takes well under two minutes."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 15


@pytest.fixture
def openapi(db, api, vera_form):
    from icsys.web.wsgi import application

    # some data to find: Vera referred and triaged, so ids in the generated paths can hit real records
    referral = api("ada.discharge").post("/api/referrals", vera_form).json_body["id"]
    api("sam.spoa").post(f"/api/referrals/{referral}/triage",
                         {"tasks": [{"service": "domiciliary_care", "organisation": "HC06"}]})
    # as Django's test client does: the test's own connection (its transaction) stays open between requests
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db) -> str:
    from icsys.care.models import User
    from icsys.web.auth import issue_token

    return issue_token(User.objects.get(username="sam.spoa"))[0]


def _run(operation, token: str, mode: GenerationMode, checks: list, calls: list) -> None:
    """Hypothesis over one operation (schemathesis's pytest plugin does not run under pytest 9: driven here)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def check(case) -> None:
        if operation.path != "/api/auth/token":
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        calls.append(case.call_and_validate(checks=checks).status_code)

    check()


@pytest.mark.parametrize(("mode", "checks"), [(GenerationMode.POSITIVE, CHECKS),
                                              (GenerationMode.NEGATIVE, [not_a_server_error])],
                         ids=["valid input: as the schema says", "invalid input: never a server error"])
def test_the_api_answers_every_generated_request_as_its_schema_says(openapi, token, mode, checks):
    failures: dict[str, str] = {}
    operations = [result.ok() for result in openapi.get_all_operations()]
    assert len(operations) >= 30  # every operation of the API, FHIR's included
    calls: list[int] = []
    for operation in operations:
        try:
            _run(operation, token, mode, checks, calls)
        except Unsatisfiable:
            if mode is not GenerationMode.NEGATIVE:
                raise
            # nothing of it can be made invalid (FHIR metadata: no parameters, no body, no sign-in)
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:1500]
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
    assert len(calls) >= 5 * len(operations)  # it did call the app
    assert not [c for c in calls if c >= 500]


@pytest.mark.parametrize("path", ["/api/tasks?status=%00", "/api/people/%00", "/api/fhir/Task?patient=%00",
                                  "/api/organisations?kind=%00"])
def test_a_nul_in_the_address_is_a_clear_400_not_a_server_error(api, path):
    # PostgreSQL refuses NUL in text: found there as 500s, now refused before any query on every database
    response = api("sam.spoa").get(path)
    assert response.status_code == 400 and "NUL" in response.json_body["detail"]


def test_a_nul_in_a_body_is_a_422_naming_the_field(api):
    response = api(None).post("/api/auth/token", {"username": "sam\x00", "password": "x"})
    assert response.status_code == 422
    assert response.json_body["detail"][0]["loc"][-1] == "username"
    assert "NUL" in response.json_body["detail"][0]["msg"]
