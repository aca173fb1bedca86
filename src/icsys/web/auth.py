"""Sign-in for people and programs: Django's password check behind a throttle, and bearer tokens for the
API (only a token's SHA-256 is stored; tokens expire). The actor of a request is built in one place,
`icsys.web.middleware.ActorMiddleware`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from icsys.access import Actor
from icsys.care.models import ApiToken, LoginFailure, Membership, User


class Throttled(Exception):
    """Too many failed sign-ins for a user name or an address."""

    def __init__(self, until: datetime) -> None:
        local = timezone.localtime(until)
        super().__init__(f"too many failed sign-ins for this user name or address: try again after "
                         f"{local:%H:%M} ({settings.ICSYS_LOGIN_FAILURES} failures in "
                         f"{settings.ICSYS_LOGIN_WINDOW_MINUTES} minutes)")
        self.until = until


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _throttle_until(username: str, address: str) -> datetime | None:
    window = timedelta(minutes=settings.ICSYS_LOGIN_WINDOW_MINUTES)
    since = timezone.now() - window
    for field, value in (("username", username), ("address", address)):
        failures = LoginFailure.objects.filter(at__gte=since, **{field: value}).order_by("-at")
        times = list(failures.values_list("at", flat=True)[: settings.ICSYS_LOGIN_FAILURES])
        if len(times) >= settings.ICSYS_LOGIN_FAILURES:
            return times[-1] + window
    return None


def sign_in(request: HttpRequest, username: str, password: str) -> User | None:
    """The user, if the password is right and the throttle allows; None (and a failure counted) if not."""
    address = client_address(request)
    until = _throttle_until(username, address)
    if until is not None:
        raise Throttled(until)
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        LoginFailure.objects.create(username=username, address=address)
        return None
    return user


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, key_hash=_digest(key),
                                    expires_at=timezone.now() + timedelta(hours=settings.ICSYS_TOKEN_HOURS))
    return key, token


def _token_sql() -> str:
    token, user, member = (model._meta.db_table for model in (ApiToken, User, Membership))
    return (f"SELECT u.*, m.organisation_id AS member_of FROM {token} t JOIN {user} u ON u.id = t.user_id "
            f"LEFT JOIN {member} m ON m.user_id = u.id "
            "WHERE t.key_hash = %s AND NOT t.revoked AND t.expires_at > %s AND u.is_active ORDER BY m.organisation_id")


def actor_for_token(key: str, authentication: str = "token") -> tuple[User, Actor] | None:
    """The user of an unexpired, unrevoked token and its actor, in one query (the token, the user and its
    organisations: this runs on every API request, so it is SQL written once, not a queryset built each time)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = list(User.objects.raw(_token_sql(), [_digest(key), now]))
    if not rows:
        return None
    codes = tuple(r.member_of for r in rows if r.member_of is not None)
    return rows[0], rows[0].actor(authentication, organisations=codes)


def user_for_token(key: str) -> User | None:
    found = actor_for_token(key)
    return found[0] if found else None
