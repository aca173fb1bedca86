"""Sign-in for people and programs: Django's password check behind a throttle, and bearer tokens for the
API (only a token's SHA-256 is stored; tokens expire). The actor of a request is built in one place,
`icsys.web.middleware.ActorMiddleware`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone

from icsys.care.models import ApiToken, LoginFailure, User


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


def user_for_token(key: str) -> User | None:
    token = (ApiToken.objects.select_related("user").filter(key_hash=_digest(key), revoked=False,
                                                             expires_at__gt=timezone.now()).first())
    if token is None or not token.user.is_active:
        return None
    return token.user
