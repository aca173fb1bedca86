"""`icsys care ...` (the care coordination service's database: migrate, demo, tick, publish) and `icsys serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import AuditOption, clear_errors, fail

app = typer.Typer(no_args_is_help=True, help="Care coordination: the SPoA, tasks, care plans (a Django service).")
CareDb = Annotated[str, typer.Option("--db", help="The care database: a SQLite file, or postgresql://USER@HOST/NAME.")]


def _start(db: str, *, fresh: bool = False) -> None:
    from icsys.web import runtime

    if fresh and "://" not in db:
        if Path(db).exists():
            fail(f"--db {db}: already exists; the demo loads into a new database")
        if not Path(db).expanduser().resolve().parent.exists():
            fail(f"--db {db}: folder {Path(db).expanduser().resolve().parent} does not exist")
        runtime.write_demo_settings(db)
    runtime.configure(db)
    runtime.migrate()


@app.command("migrate")
def migrate(db: CareDb) -> None:
    """Create or bring up to date the care database's tables."""
    with clear_errors():
        _start(db)
    print(f"care database {db} is up to date")


@app.command("demo")
def demo(
    db: CareDb,
    referrals: Annotated[bool, typer.Option("--referrals/--no-referrals",
                                            help="Load the referrals, tasks and plans too (--no-referrals: only "
                                                 "organisations, users and people, to walk a journey yourself).")]
    = True,
) -> None:
    """Load demonstration organisations, users, people, referrals and care plans (Vera's among them)."""
    with clear_errors():
        _start(db, fresh=True)
        from icsys.care.demo import PASSWORD, load_demo

        summary = load_demo(referrals=referrals)
    print(json.dumps(summary, indent=2, default=str))
    print(f"\nServe it:  icsys serve --db {db}   then sign in at http://127.0.0.1:8000/ "
          f"(e.g. sam.spoa / {PASSWORD}; every login is in docs/care.md)")


@app.command("tick")
def tick(db: CareDb) -> None:
    """The scheduled job: warnings before a task's due time, breaches after it, late discharge notifications."""
    with clear_errors():
        _start(db)
        from icsys.care.services import tick as run_tick

        raised = run_tick()
    print(json.dumps(raised))


@app.command("publish")
def publish(
    db: CareDb,
    store: Annotated[Path, typer.Option("--store", dir_okay=False,
                                        help="The store (DuckDB file) to add the contacts and packages to.")],
    audit: AuditOption = None,
) -> None:
    """Completed care tasks into the store as community_contact rows (urgent community response, district
    nursing), so the standards they belong to (ucr_2h) are measured from them, and ended home care and
    reablement packages as social_care_package rows. A data manager's load: audited, all or nothing, each
    task once."""
    with clear_errors():
        if not store.is_file():
            fail(f"--store {store}: no such store (build one with `icsys synth` or `icsys load`)")
        _start(db)
        from icsys.care.publish import publish as run_publish
        from icsys.cli.common import local_auditor
        from icsys.system import load_system

        providers = {p.code for p in load_system().provider}
        done = run_publish(store, local_auditor(store, audit), providers)
    print(json.dumps(done.as_dict()))


def serve(
    db: CareDb,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    threads: Annotated[int, typer.Option(help="Worker threads.", min=1, max=64)] = 8,
) -> None:
    """Serve the web front door (the care API and pages) with waitress."""
    with clear_errors():
        _start(db)
        from icsys.web import runtime

        print(f"icsys serving {db} at http://{host}:{port}/ (API: /api/, OpenAPI: /api/openapi.json)", flush=True)
        runtime.serve(host, port, threads)
