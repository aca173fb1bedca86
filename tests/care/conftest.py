"""The care tests: a real database (PostgreSQL when ICSYS_TEST_POSTGRES_URL is set, else SQLite, see
icsys.web.test_settings), the organisations of the Kent and Medway definition and the demonstration users
loaded once, each test in a transaction rolled back; `api("sam.spoa")` is a JSON client with that user's token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from icsys.care import demo
from icsys.care.organisations import load_organisations


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_organisations()
        demo.load_users()
        demo.link_people()


class Api:
    """A JSON client for one user (a bearer token), over Django's test client (the whole stack but the socket)."""

    def __init__(self, username: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers: dict[str, str] = {}
        self.username = username
        if username:
            from icsys.care.models import User
            from icsys.web.auth import issue_token

            key, _ = issue_token(User.objects.get(username=username))
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None, **headers: str):
        kwargs = {**self.headers, **headers}
        if body is not None:
            kwargs.update(data=json.dumps(body, default=str), content_type="application/json")
        response = getattr(self.client, method.lower())(path, **kwargs)
        response.json_body = json.loads(response.content) if response.content and \
            response.get("Content-Type", "").startswith("application/json") else None
        return response

    def get(self, path: str, **headers: str):
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str):
        return self.call("POST", path, body if body is not None else {}, **headers)

    def put(self, path: str, body: Any = None, **headers: str):
        return self.call("PUT", path, body, **headers)


@pytest.fixture
def api(db) -> Callable[[str | None], Api]:
    return Api


@pytest.fixture
def practice(db) -> str:
    return demo.demo_practice().code


@pytest.fixture
def vera_form(practice) -> dict[str, Any]:
    return demo.vera_referral_form(practice)
