"""The one API (django-ninja) at /api/: sign-in for tokens, then the apps' routers. OpenAPI at
/api/openapi.json. Bearer tokens or the browser's session (with CSRF) authenticate; the actor is the
middleware's. Errors: 401 no actor, 403 refused (the policy's reason), 404 not there or not yours, 409/412
conflicts, 422 bad input naming the field (nothing saved), 429 throttled."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from icsys.access import AccessDenied
from icsys.care.api import router as care_router
from icsys.care.mdt_api import router as mdt_router
from icsys.care.schemas import FieldErrors, MeOut, Message, TokenIn, TokenOut
from icsys.care.services import CareError, Invalid
from icsys.web.auth import Throttled, issue_token, sign_in


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        return request.care_user if getattr(request, "authenticated_by", None) == "token" else None


class SessionAuth(APIKeyCookie):
    """The browser's session; ninja checks CSRF on unsafe methods for cookie authentication."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None):
        return request.care_user if getattr(request, "authenticated_by", None) == "session" else None


api = NinjaAPI(title="icsys care coordination", version="1", auth=[BearerAuth(), SessionAuth()],
               urls_namespace="api", openapi_url="/openapi.json", docs_url="/docs")


@api.exception_handler(Invalid)
def _invalid(request, exc: Invalid):
    parts = (exc.field or "").split(".") if exc.field else []
    loc = parts if parts and parts[0] in ("query", "path", "body") else ["body", *parts]
    return api.create_response(request, {"detail": [{"loc": loc, "msg": exc.message, "type": "value_error"}]},
                               status=422)


@api.exception_handler(CareError)
def _care_error(request, exc: CareError):
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


@api.exception_handler(AccessDenied)
def _denied(request, exc: AccessDenied):
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "sign in: send Authorization: Bearer TOKEN (POST /api/auth/token) "
                                         "or use a signed-in session with its CSRF token"}, status=401)


@api.exception_handler(NinjaValidationError)
def _validation(request, exc: NinjaValidationError):
    errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors]
    return api.create_response(request, {"detail": errors}, status=422)


@api.post("/auth/token", auth=None, response={200: TokenOut, 401: Message, 422: FieldErrors, 429: Message},
          tags=["auth"])
def token(request: HttpRequest, body: TokenIn):
    """A bearer token for the API (expires; only its hash is stored). Failed attempts are throttled."""
    try:
        user = sign_in(request, body.username, body.password)
    except Throttled as exc:
        return Status(429, {"detail": str(exc)})
    if user is None:
        return Status(401, {"detail": "user name or password not recognised"})
    key, record = issue_token(user)
    actor = user.actor("token")
    return Status(200, {"token": key, "expires_at": record.expires_at, "user": user.username, "role": user.role,
                 "organisations": list(actor.organisations)})


@api.get("/me", response=MeOut, tags=["auth"])
def me(request: HttpRequest):
    actor = request.actor
    return {"user": actor.user, "role": actor.roles[0], "organisations": list(actor.organisations),
            "authentication": actor.authentication}


api.add_router("/", care_router)
api.add_router("/mdt", mdt_router)
