"""Settings for the tests: PostgreSQL when ICSYS_TEST_POSTGRES_URL is set (CI), else SQLite; a fast
password hasher; synthetic NHS numbers accepted; the audit and re-identification databases in a temp folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

os.environ.setdefault("ICSYS_DEMO_SECRET_KEY", "test-key-" + "x" * 50)
_TMP = Path(tempfile.mkdtemp(prefix="icsys-care-test-"))
os.environ.setdefault("ICSYS_CARE_DB", str(_TMP / "care.sqlite"))

from icsys.web.settings import *  # noqa: E402, F403
from icsys.web.settings import database_from_url  # noqa: E402

_PG = os.environ.get("ICSYS_TEST_POSTGRES_URL")
if _PG:
    DATABASES = {"default": database_from_url(_PG)}
    # one test database per checkout: several checkouts' tests share one PostgreSQL server
    _CHECKOUT = hashlib.sha256(str(Path(__file__).resolve().parents[3]).encode()).hexdigest()[:8]
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ICSYS_TEST_CARE_DB", f"test_icsys_care_{_CHECKOUT}")}
ICSYS_AUDIT_URL = f"sqlite:///{_TMP / 'audit.sqlite'}"
ICSYS_REID_URL = f"sqlite:///{_TMP / 'reid.sqlite'}"
ICSYS_ALLOW_TEST_NHS_NUMBERS = True
# Django sets the process's TZ from TIME_ZONE; the analytical tests (Spark's dates) share the process and
# expect the machine's UTC, so the tests keep it.
TIME_ZONE = "UTC"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; production uses PBKDF2
