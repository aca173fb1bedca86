"""`icsys audit`: the audit log of releases of personal data (kept in the audit database, not the store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from icsys.cli.common import AuditOption, clear_errors, fail

app = typer.Typer(no_args_is_help=True, help="The audit log: every release of personal data, append-only.")


@app.command("log")
def audit_log(
    db: Annotated[Path | None, typer.Option("--db", help="The store whose audit database (beside it) to read.",
                                            dir_okay=False)] = None,
    audit: AuditOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Records as JSON.")] = False,
) -> None:
    """Show the audit records, oldest first (for a data manager or privacy officer)."""
    from icsys.access import local_actor, policy
    from icsys.access.actor import configured_audit_url
    from icsys.access.audit import beside, open_audit

    with clear_errors():
        policy.require(local_actor(), policy.AUDIT)
        url = audit or configured_audit_url() or (beside(db) if db else None)
        if url is None:
            fail("say which audit database: --audit URL, or --db STORE for the one beside it")
        records = open_audit(url).records()
    if as_json:
        print(json.dumps(records, indent=2))
        return
    for r in records:
        orgs = f" for {r['actor_organisations']}" if r["actor_organisations"] else ""
        people = "" if r["people"] is None else f", {r['people']:,} people"
        print(f"{r['recorded_at']}  {r['actor_user']} ({r['actor_roles']}{orgs}, {r['authentication']})  "
              f"{r['action']} {r['what']}{people} -> {r['destination']}"
              + (f"  [purpose: {r['purpose']}]" if r["purpose"] else ""))
    if not records:
        print("(no audit records)")
