"""Sign-in: passwords hashed by Django, bearer tokens (hashed, expiring), sessions with CSRF, throttling,
the actor made from the user, and the CIS2-style OIDC claims mapping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from icsys.care.demo import PASSWORD
from icsys.care.models import ApiToken, LoginFailure, User
from icsys.web.oidc import OidcError, user_from_claims

pytestmark = pytest.mark.django_db


def token_for(client: Client, username: str, password: str = PASSWORD, addr: str = "10.0.0.1"):
    return client.post("/api/auth/token", {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=addr)


def test_passwords_are_hashed_by_django():
    user = User.objects.get(username="sam.spoa")
    assert PASSWORD not in user.password and user.password.startswith(("md5$", "pbkdf2_sha256$"))
    assert user.check_password(PASSWORD) and not user.check_password("wrong")


def test_a_token_is_issued_stored_hashed_and_names_the_actor(client):
    response = token_for(client, "sam.spoa")
    assert response.status_code == 200
    body = response.json()
    assert (body["user"], body["role"], body["organisations"]) == ("sam.spoa", "care_coordinator", ["SP03"])
    stored = ApiToken.objects.get(user__username="sam.spoa")
    assert body["token"] not in stored.key_hash and len(stored.key_hash) == 64
    me = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}").json()
    assert me == {"user": "sam.spoa", "role": "care_coordinator", "organisations": ["SP03"],
                  "authentication": "token"}


def test_no_token_no_access_and_an_expired_token_is_refused(client):
    assert client.get("/api/people").status_code == 401
    assert client.get("/api/people", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    key = token_for(client, "gita.gp").json()["token"]
    ApiToken.objects.filter(user__username="gita.gp").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/people", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_wrong_password_is_401_and_the_fifth_failure_throttles_with_429(client):
    for _ in range(5):
        assert token_for(client, "sam.spoa", "wrong").status_code == 401
    throttled = token_for(client, "sam.spoa")  # even the right password, now
    assert throttled.status_code == 429
    assert "too many failed sign-ins" in throttled.json()["detail"]
    assert "5 failures in 15 minutes" in throttled.json()["detail"]
    # another user from another address is not held up
    assert token_for(client, "gita.gp", addr="10.0.0.2").status_code == 200


def test_failures_from_one_address_throttle_every_user_name_there(client):
    for name in ("a", "b", "c", "d", "e"):
        token_for(client, name, "x", addr="10.9.9.9")
    assert token_for(client, "gita.gp", addr="10.9.9.9").status_code == 429
    assert token_for(client, "gita.gp", addr="10.9.9.8").status_code == 200


def test_failures_older_than_the_window_do_not_count(client):
    for _ in range(5):
        token_for(client, "sam.spoa", "wrong")
    LoginFailure.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert token_for(client, "sam.spoa").status_code == 200


def test_a_session_signs_in_through_the_page_and_needs_csrf_to_write():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/accounts/login/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    csrf = page.cookies["csrftoken"].value
    assert browser.post("/accounts/login/", {"username": "gita.gp", "password": PASSWORD}).status_code == 403
    signed = browser.post("/accounts/login/", {"username": "gita.gp", "password": PASSWORD,
                                               "csrfmiddlewaretoken": csrf})
    assert signed.status_code == 302
    assert browser.get("/api/me").json()["authentication"] == "session"
    body = {"status": "given"}
    refused = browser.post("/api/people/PDEMO0001/consent", body, content_type="application/json")
    assert refused.status_code in (401, 403)  # no CSRF token: the session does not authenticate a write
    fresh = Client(enforce_csrf_checks=True)
    csrf = fresh.get("/accounts/login/").cookies["csrftoken"].value
    assert fresh.post("/accounts/login/", {"username": "gita.gp", "password": "wrong",
                                           "csrfmiddlewaretoken": csrf}).status_code == 401


def test_cis2_claims_make_a_user_in_the_selected_role_and_organisation():
    claims = {"uid": "555012345678", "given_name": "Rita", "family_name": "Moss", "selected_roleid": "r2",
              "nhsid_nrbac_roles": [
                  {"person_roleid": "r1", "org_code": "RPA", "role_code": "S8000:G8000:R8008"},
                  {"person_roleid": "r2", "org_code": "RPA", "role_code": "S8000:G8000:R8000"}]}
    user = user_from_claims(claims)
    actor = user.actor("cis2")
    assert (actor.user, actor.roles, actor.organisations, actor.authentication) == \
        ("cis2:555012345678", ("clinician",), ("RPA",), "cis2")
    assert not user.has_usable_password()
    with pytest.raises(OidcError, match="gives no access"):
        user_from_claims({"uid": "1", "nhsid_nrbac_roles": [{"person_roleid": "x", "org_code": "RPA",
                                                             "role_code": "S1:G1:R9999"}]})
    with pytest.raises(OidcError, match="not in the system"):
        user_from_claims({"uid": "1", "nhsid_nrbac_roles": [{"org_code": "ZZZ", "role_code": "S:G:R8000"}]})
