"""The one place a request's actor is made: a bearer token (the API) or the signed-in session (pages and
the API from a browser) becomes an `icsys.access.Actor` on `request.actor`; no actor, no personal data."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from icsys.web.auth import user_for_token


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            # never text anyone typed, and PostgreSQL refuses it in a query: a clear 400, not a 500
            return JsonResponse({"detail": "the address holds a NUL character"}, status=400)
        request.actor = None
        request.care_user = None
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            user = user_for_token(header.removeprefix("Bearer ").strip())
            if user is not None:
                request.care_user, request.actor = user, user.actor("token")
                request.authenticated_by = "token"
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            request.care_user = request.user
            request.actor = request.user.actor(request.session.get("authentication", "session"))
            request.authenticated_by = "session"
        return self.get_response(request)
