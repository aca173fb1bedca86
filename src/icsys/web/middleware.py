"""The one place a request's actor is made: a bearer token (the API) or the signed-in session (pages and
the API from a browser) becomes an `icsys.access.Actor` on `request.actor`; no actor, no personal data.

A request with an actor gets one auditor (`request.auditor`): its records are written in one insert when
the view is done and before the response leaves; a request that may write runs in one transaction of the
care database, and the records are written inside it, so a write whose record fails is rolled back. If the
audit database cannot be written, the answer is 503 and nothing is released."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from icsys.access.audit import AuditError
from icsys.care.services import request_auditor
from icsys.web.auth import actor_for_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            # never text anyone typed, and PostgreSQL refuses it in a query: a clear 400, not a 500
            return JsonResponse({"detail": "the address holds a NUL character"}, status=400)
        request.actor = None
        request.care_user = None
        request.auditor = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            found = actor_for_token(header.removeprefix("Bearer ").strip())
            if found is not None:
                request.care_user, request.actor = found
                request.authenticated_by = "token"
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            request.care_user = request.user
            request.actor = request.user.actor(request.session.get("authentication", "session"))
            request.authenticated_by = "session"
        if request.actor is None:
            return self.get_response(request)
        return self._audited(request)

    def _audited(self, request: HttpRequest) -> HttpResponse:
        auditor = request.auditor = request_auditor(request.actor)
        try:
            if request.method in SAFE_METHODS:
                response = self.get_response(request)
                auditor.flush()
                return response
            with transaction.atomic():
                response = self.get_response(request)
                auditor.flush()  # inside the transaction: no record, no write
            return response
        except AuditError as exc:
            return JsonResponse({"detail": str(exc)}, status=503)
