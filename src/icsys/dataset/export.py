"""Write a table of the store to CSV or Parquet, whole or not at all, as the actor may see it: a table of
person-level rows is cut to the actor's scope (pseudonymised for an analyst, its organisations' people for
a clinician) and its release recorded by the Auditor before the file is put in place."""

from __future__ import annotations

import os
from pathlib import Path

from icsys.access import Auditor, policy
from icsys.dataset.schema import TABLES
from icsys.dataset.store import LOAD_LOG_TABLE, QUARANTINE_TABLE, connect
from icsys.errors import InputError

FORMATS = (".csv", ".parquet")
EXTRA = (QUARANTINE_TABLE, LOAD_LOG_TABLE)


class ExportError(InputError):
    """An export that cannot be done, with the reason."""


def check_export(table: str, out: Path) -> str:
    """The format of `out`, or an ExportError naming what is wrong with the request."""
    fmt = out.suffix.lower()
    if fmt not in FORMATS:
        raise ExportError(f"--out {out}: unknown format {out.suffix or '(none)'}; use .csv or .parquet")
    if table not in TABLES and table not in EXTRA:
        raise ExportError(f"--table {table}: unknown table; tables are: {', '.join([*TABLES, *EXTRA])}")
    if not out.parent.exists():
        raise ExportError(f"--out {out}: folder {out.parent} does not exist")
    return fmt


def export_table(db: Path, table: str, out: Path, *, auditor: Auditor) -> int:
    """Copy `table` to `out` (format from its extension) as the auditor's actor may see it; return the
    rows written. The release is recorded (people: distinct person_id) before the file appears."""
    out = Path(out)
    fmt = check_export(table, out)
    actor = auditor.actor
    partial = out.with_name(f".{out.name}.partial")
    backend = connect(db)
    try:
        expr = backend.table(table)
        people = None
        if table == QUARANTINE_TABLE:  # raw rejected records: identifiable, not cut by organisation
            policy.require(actor, policy.EXPORT, identifiable=True, all_organisations=True)
        elif "person_id" in expr.columns:
            person = backend.table("person") if table != "person" else None
            expr = policy.scope(actor, policy.EXPORT).ibis_view(expr, people=person)
        else:
            policy.require(actor, policy.EXPORT)
        if fmt == ".csv":
            backend.to_csv(expr, partial, header=True)
        else:
            backend.to_parquet(expr, partial, compression="zstd")
        rows = int(expr.count().execute())
        if "person_id" in expr.columns:
            people = int(expr.person_id.nunique().execute())
        auditor.record(policy.EXPORT, f"table {table}", people=people,
                       destination=str(out))  # no record, no file
        os.replace(partial, out)
    finally:
        backend.disconnect()
        partial.unlink(missing_ok=True)
    return rows
