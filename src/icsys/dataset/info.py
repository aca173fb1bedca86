"""Summarise a store: the system it describes, each table's rows, people and dates covered."""

from __future__ import annotations

from typing import Any

from icsys.dataset.schema import ALL_TABLES, DERIVED_TABLES, TABLES
from icsys.dataset.store import LOAD_LOG_TABLE, QUARANTINE_TABLE, Store


def describe(store: Store) -> dict[str, Any]:
    con, meta = store.con, store.meta
    tables = {name: _describe_table(con, name) for name in TABLES}
    quarantined = con.execute(f"SELECT count(*) FROM {QUARANTINE_TABLE}").fetchone()[0] \
        if _exists(con, QUARANTINE_TABLE) else 0
    loads = con.execute(f"SELECT count(DISTINCT load_id), max(loaded_at)::VARCHAR FROM {LOAD_LOG_TABLE}"
                        ).fetchone() if _exists(con, LOAD_LOG_TABLE) else (0, None)
    froms = [t["from"] for t in tables.values() if t.get("from")]
    tos = [t["to"] for t in tables.values() if t.get("to")]
    return {
        "system": {"code": meta.get("system_code"), "name": meta.get("system_name"),
                   "synthetic": bool(meta.get("synthetic")), "scale": meta.get("scale"),
                   "seed": meta.get("seed"), "years": meta.get("years"),
                   "icsys_version": meta.get("icsys_version")},
        "period": {"from": meta.get("period_start") or (min(froms) if froms else None),
                   "to": meta.get("period_end") or (max(tos) if tos else None)},
        "tables": tables,
        "derived": {name: _describe_table(con, name) for name in DERIVED_TABLES if _exists(con, name)},
        "quarantine": {"rows": int(quarantined)},
        "loads": {"count": int(loads[0]), "latest": loads[1]},
        "linkage": _linkage(con),
    }


def _linkage(con) -> dict[str, Any]:
    """How people are linked (docs/adr/010): the source keys by source and kind, the rows kept apart unlinked,
    and how many NHS numbers the analytical store holds (none, except a synthetic store's test-range ones)."""
    keys = con.execute("SELECT source, key_kind, count(*) FROM person_link GROUP BY ALL ORDER BY ALL").fetchall() \
        if _exists(con, "person_link") else []
    unlinked = con.execute("SELECT count(*) FROM unlinked_record").fetchone()[0] \
        if _exists(con, "unlinked_record") else 0
    numbers = con.execute("SELECT count(nhs_number) FROM person").fetchone()[0] if _exists(con, "person") else 0
    return {"source_keys": [{"source": s, "key_kind": k, "keys": int(n)} for s, k, n in keys],
            "unlinked_rows": int(unlinked), "nhs_numbers_in_store": int(numbers)}


def _exists(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchone()[0])


def _describe_table(con, name: str) -> dict[str, Any]:
    """Rows, distinct people, and the range of the table's first date or time column (its event date)."""
    if not _exists(con, name):
        return {"rows": 0}
    table = ALL_TABLES[name]
    when = next((c for c in table.time_columns if c != "birth_date"), None)
    people = "person_id" if "person_id" in table.column_names else None
    parts = ["count(*)", f'count(DISTINCT "{people}")' if people else "0"]
    if when:
        parts += [f'min("{when}")::DATE', f'max("{when}")::DATE']
    row = con.execute(f'SELECT {", ".join(parts)} FROM "{name}"').fetchone()
    out: dict[str, Any] = {"rows": int(row[0]), "people": int(row[1])}
    if when:
        out |= {"date_column": when, "from": row[2].isoformat() if row[2] else None,
                "to": row[3].isoformat() if row[3] else None}
    return out
