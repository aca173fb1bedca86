"""Settings from the environment. `ICSYS_CARE_DB`: the care database, a SQLite file path or
`sqlite:///PATH` (default data/care.sqlite) or `postgresql://USER:PASSWORD@HOST:PORT/NAME`.
`ICSYS_AUDIT_URL` (default: beside the care database, `<name>.audit.sqlite`) and `ICSYS_REID_URL`
(default `<name>.reid.sqlite`) name the audit database and the re-identification store. OpenID Connect
(NHS CIS2 style) is configured by `ICSYS_OIDC_*` (see icsys.web.oidc)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from icsys.errors import InputError

DEFAULT_CARE_DB = "data/care.sqlite"


def database_from_url(url: str) -> dict[str, Any]:
    """A Django DATABASES entry from a URL or a SQLite file path."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        if not parts.path.strip("/"):
            raise InputError(f"care database {url!r}: name the database (postgresql://USER@HOST/NAME)")
        return {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
                "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
                "HOST": parts.hostname or "", "PORT": str(parts.port or ""), "CONN_MAX_AGE": 60,
                "TEST": {"NAME": "test_icsys_care"}}
    if "://" in url and not url.startswith("sqlite:///"):
        raise InputError(f"care database {url!r}: use a file path, sqlite:///PATH or postgresql://USER@HOST/NAME")
    path = Path(url.removeprefix("sqlite:///")).expanduser()
    # WAL and a busy timeout: several server threads write the same file.
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path.resolve()),
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}}


def _beside(database: dict[str, Any], suffix: str) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        name = Path(database["NAME"])
        return f"sqlite:///{name.with_name(f'{name.stem}.{suffix}.sqlite')}"
    raise InputError(f"with a PostgreSQL care database, set ICSYS_{suffix.upper()}_URL too")


CARE_DB = os.environ.get("ICSYS_CARE_DB") or DEFAULT_CARE_DB
DATABASES = {"default": database_from_url(CARE_DB)}
ICSYS_AUDIT_URL = os.environ.get("ICSYS_AUDIT_URL") or _beside(DATABASES["default"], "audit")
ICSYS_REID_URL = os.environ.get("ICSYS_REID_URL") or _beside(DATABASES["default"], "reid")
# Synthetic-range NHS numbers (9xx) are accepted only in a demonstration or a test system.
# The analytical store the MDT case lists read (read-only): person_measures, medication, clinical_event.
ICSYS_STORE = os.environ.get("ICSYS_STORE") or "data/demo.duckdb"
ICSYS_ALLOW_TEST_NHS_NUMBERS = os.environ.get("ICSYS_ALLOW_TEST_NHS_NUMBERS", "0") == "1"

DEBUG = os.environ.get("ICSYS_DEBUG", "0") == "1"
SECRET_KEY = os.environ.get("ICSYS_SECRET_KEY") or ("insecure-development-key-" + "0" * 40 if DEBUG else None)
if not SECRET_KEY:
    # A served instance without a key would sign sessions with a known value: refuse, except for the demo.
    SECRET_KEY = os.environ.get("ICSYS_DEMO_SECRET_KEY", "")
if not SECRET_KEY:
    raise InputError("set ICSYS_SECRET_KEY (a long random value) to serve icsys; `icsys serve` sets one for a demo")
ALLOWED_HOSTS = [h for h in os.environ.get("ICSYS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "icsys.care",
]
AUTH_USER_MODEL = "care.User"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "icsys.web.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "icsys.web.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
              "DIRS": [Path(__file__).with_name("templates")], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
WSGI_APPLICATION = "icsys.web.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Europe/London"
LANGUAGE_CODE = "en-gb"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600  # a working shift
CSRF_COOKIE_SAMESITE = "Lax"
SECURE = os.environ.get("ICSYS_SECURE_COOKIES", "0") == "1"  # behind TLS in production
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                             "OPTIONS": {"min_length": 10}}]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# Sign-in throttling: this many failures for one user name or one address in the window -> 429.
ICSYS_LOGIN_FAILURES = int(os.environ.get("ICSYS_LOGIN_FAILURES", "5"))
ICSYS_LOGIN_WINDOW_MINUTES = int(os.environ.get("ICSYS_LOGIN_WINDOW_MINUTES", "15"))
ICSYS_TOKEN_HOURS = int(os.environ.get("ICSYS_TOKEN_HOURS", "8"))
ICSYS_BREAK_GLASS_HOURS = int(os.environ.get("ICSYS_BREAK_GLASS_HOURS", "4"))
# A warning is raised this long before a task's due time (the scheduled job `icsys care tick`).
ICSYS_WARN_BEFORE_FRACTION = 0.25

# OpenID Connect, NHS CIS2 style: off unless an issuer is set (icsys.web.oidc documents the hook).
ICSYS_OIDC = {
    "issuer": os.environ.get("ICSYS_OIDC_ISSUER", ""),
    "client_id": os.environ.get("ICSYS_OIDC_CLIENT_ID", ""),
    "client_secret": os.environ.get("ICSYS_OIDC_CLIENT_SECRET", ""),
    "scopes": os.environ.get("ICSYS_OIDC_SCOPES", "openid profile email nationalrbacaccess associatedorgs"),
    "acr_values": os.environ.get("ICSYS_OIDC_ACR", "AAL3_ANY"),
}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}
