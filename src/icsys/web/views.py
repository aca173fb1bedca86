"""The few pages of the project so far: sign-in (session with CSRF, throttled), sign-out and a home page.
The role pages (SPoA queue, task lists, plan editor, audit view) come next and call icsys.care.services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
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
                return redirect(request.GET.get("next") or "/")
            form.add_error(None, "User name or password not recognised.")
            status = 401
    return render(request, "web/sign_in.html", {"form": form}, status=status)


@require_http_methods(["POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/accounts/login/")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"actor": request.actor})
