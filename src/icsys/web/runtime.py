"""Starting the Django project from the command line: point it at a care database, set Django up, migrate,
and serve with waitress (a production WSGI server). A demonstration database has a `<name>.demo.toml`
beside it (its secret key, and that it uses synthetic-range NHS numbers), written by `icsys care demo`."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path

from icsys.errors import InputError


def _is_url(db: str) -> bool:
    return "://" in db


def demo_file(db: str) -> Path | None:
    if _is_url(db) and not db.startswith("sqlite:///"):
        return None
    path = Path(db.removeprefix("sqlite:///"))
    return path.with_name(f"{path.stem}.demo.toml")


def write_demo_settings(db: str) -> None:
    path = demo_file(db)
    if path is None:
        raise InputError("a demonstration database is a SQLite file (--db PATH)")
    path.write_text(f'secret_key = "{secrets.token_urlsafe(48)}"\ntest_nhs_numbers = true\n', encoding="utf-8")
    path.chmod(0o600)


def configure(db: str, *, settings_module: str = "icsys.web.settings") -> None:
    """Set Django up on the care database `db` (a SQLite path, sqlite:/// or postgresql:// URL)."""
    if not _is_url(db):
        folder = Path(db).expanduser().resolve().parent
        if not folder.exists():
            raise InputError(f"--db {db}: folder {folder} does not exist")
    os.environ["ICSYS_CARE_DB"] = db
    path = demo_file(db)
    if path is not None and path.exists():
        demo = tomllib.loads(path.read_text(encoding="utf-8"))
        os.environ.setdefault("ICSYS_DEMO_SECRET_KEY", demo["secret_key"])
        if demo.get("test_nhs_numbers"):
            os.environ.setdefault("ICSYS_ALLOW_TEST_NHS_NUMBERS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def serve(host: str, port: int, threads: int = 8) -> None:
    import waitress

    from icsys.web.wsgi import application

    waitress.serve(application, host=host, port=port, threads=threads, ident="icsys")
