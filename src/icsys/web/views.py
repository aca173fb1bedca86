"""The web front door's own pages: sign-in (session with CSRF, throttled), sign-out, and the style sheet,
served from the package (no CDN). The role pages are icsys.care.pages."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from icsys.web.auth import Throttled, sign_in


class SignInForm(forms.Form):
    username = forms.CharField(max_length=150, label="User name")
    password = forms.CharField(max_length=200, widget=forms.PasswordInput, label="Password")


@require_http_methods(["GET", "POST"])
def sign_in_page(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = sign_in(request, form.cleaned_data["username"], form.cleaned_data["password"])
        except Throttled as exc:
            form.add_error(None, str(exc))
            status = 429
        else:
            if user is not None:
                login(request, user)
                request.session["authentication"] = "session"
                target = request.GET.get("next") or "/"
                safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
                return redirect(target if safe else "/")
            form.add_error(None, "User name or password not recognised.")
            status = 401
    return render(request, "web/sign_in.html", {"form": form}, status=status)


@require_http_methods(["POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/accounts/login/")


STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {".css": "text/css; charset=utf-8"}


def static_file(request: HttpRequest, name: str) -> HttpResponse:
    """A file of icsys/web/static (only those, by name): the pages need nothing from outside."""
    path = STATIC / name
    if path.suffix not in STATIC_TYPES or path.parent != STATIC or not path.is_file():
        raise Http404(name)
    response = HttpResponse(path.read_bytes(), content_type=STATIC_TYPES[path.suffix])
    response["Cache-Control"] = "max-age=3600"
    return response
