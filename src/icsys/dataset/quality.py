"""Data quality: the figures of every load, and of the whole store, by source and month of activity.

Each load records, for each table and month of activity (the month of the table's first required date),
in `load_quality`, inside its own transaction:

- rows offered, loaded, quarantined (invalid) and unlinked (no person: kept apart, or refused with
  --link known), and rows linked to a person;
- completeness: of the loaded rows, the cells of the schema's columns that have a value (nhs_number is
  never counted: it is empty in the analytical store by design, docs/adr/010);
- timeliness: days from the end of the month of activity to the day of the load.

`report(store)` adds them up by source, table and month, with validity (loaded / (loaded + quarantined)),
completeness (filled / expected cells), linkage rate (linked / (linked + unlinked)) and the median days
after the month's end, plus what was quarantined and why; `write(...)` writes that as CSV, JSON and an HTML
page to share with the data provider (it holds figures and reasons, never a row of anyone's data).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from icsys.dataset.schema import Table
from icsys.dataset.validate import CHECKED, STAGE, literal, quote

if TYPE_CHECKING:
    from icsys.dataset.staging import LoadReport
    from icsys.dataset.store import Store

OFFERED = "_icsys_offered"  # each staged row's month, before linkage removed any
LINKED = "_icsys_linked"  # the staged rows linked to a person
UNLINKED_REASON = "not linked to a known person"
NOT_COUNTED = ("nhs_number",)  # empty by design in the analytical store


def activity_date(table: Table) -> str | None:
    """The column whose month a row is counted in: the first required date or time (none for person)."""
    if table.name == "person":
        return None
    for col in table.columns:
        if col.type in ("date", "timestamp") and col.required:
            return col.name
    return next(iter(table.time_columns), None)


def month_of(table: Table, prefix: str = "") -> str:
    """SQL: the first day of the month a staged (text) row is counted in."""
    when = activity_date(table)
    if when is None:
        return "NULL::DATE"
    value = f"NULLIF(trim(CAST({prefix}{quote(when)} AS VARCHAR)), '')"
    return f"date_trunc('month', coalesce(TRY_CAST({value} AS TIMESTAMP), TRY_CAST({value} AS DATE)))::DATE"


def _counted(table: Table) -> list[str]:
    return [c for c in table.column_names if c not in NOT_COUNTED]


def offered(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {OFFERED} AS SELECT _row, {month_of(table)} AS month FROM {STAGE}")


def linked(con: duckdb.DuckDBPyConnection) -> None:
    columns = {r[0] for r in con.execute(f"DESCRIBE {STAGE}").fetchall()}
    where = "NULLIF(trim(CAST(person_id AS VARCHAR)), '') IS NOT NULL" if "person_id" in columns else "FALSE"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LINKED} AS SELECT _row FROM {STAGE} WHERE {where}")


def record_staged(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table) -> None:
    """The load's figures for `table` from the slow path's staged, checked and quarantined rows. An adapter
    calls `offered` after staging, `linked` after `linkage.link_people` and this after `load_staged`; without
    `offered` there is nothing to count from, and no figures are recorded."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    if OFFERED not in tables:
        return
    if LINKED not in tables:
        linked(con)
    present = {r[0] for r in con.execute(f"DESCRIBE {STAGE}").fetchall()}
    cols = _counted(table)
    filled = " + ".join(f"(NULLIF(trim(CAST(s.{quote(c)} AS VARCHAR)), '') IS NOT NULL)::INT" for c in cols
                        if c in present) or "0"
    has_checked = con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{CHECKED}'").fetchone()[0]
    good = (f"SELECT s._row, {filled} AS filled FROM {STAGE} s JOIN {CHECKED} c USING (_row) "
            "WHERE len(c.problems) = 0") if has_checked else f"SELECT _row, {filled} AS filled FROM {STAGE} s"
    bad = f"SELECT _row, FALSE FROM {CHECKED} WHERE len(problems) > 0" if has_checked else \
        "SELECT NULL::BIGINT, FALSE WHERE FALSE"
    loaded_rows = "good" if report.loaded.get(table.name) else "(SELECT * FROM good WHERE FALSE)"
    lid, name = literal(report.load_id), literal(table.name)
    rows = con.execute(f"""
        WITH good AS ({good}),
        q AS (SELECT _row, bool_or(unlinked) AS unlinked FROM (
                SELECT row_number AS _row, reasons LIKE '%{UNLINKED_REASON}%' AS unlinked FROM quarantine
                WHERE load_id = {lid} AND table_name = {name}
                UNION ALL {bad}) GROUP BY _row),
        apart AS (SELECT row_number AS _row FROM unlinked_record WHERE load_id = {lid} AND table_name = {name})
        SELECT o.month, count(*) AS rows,
               count(g._row) AS loaded,
               count(q._row) FILTER (WHERE NOT q.unlinked) AS quarantined,
               count(q._row) FILTER (WHERE q.unlinked) + count(a._row) AS unlinked,
               count(l._row) AS linked,
               count(g._row) * {len(cols)} AS expected,
               coalesce(sum(g.filled), 0) AS filled
        FROM {OFFERED} o LEFT JOIN {loaded_rows} g USING (_row) LEFT JOIN q USING (_row)
        LEFT JOIN apart a USING (_row) LEFT JOIN {LINKED} l USING (_row)
        GROUP BY o.month ORDER BY o.month NULLS LAST""").fetchall()
    _insert(con, report, table, rows)


def record_fast(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, after: int) -> None:
    """The load's figures for a clean file appended straight into its table (rows after rowid `after`), which
    has passed every rule: each required column has a value in each of its rows, so only the others' are counted.
    Rows are counted by day, then the days by month (the month of each row is dearer to work out)."""
    cols = _counted(table)
    required = sum(1 for c in cols if table.column(c).required)
    optional = [c for c in cols if not table.column(c).required]
    when = activity_date(table)
    day = f"CAST({quote(when)} AS DATE)" if when else "NULL::DATE"
    person = ("0" if "person_id" not in table.column_names
              else "count(*)" if table.column("person_id").required else "count(person_id)")
    filled = " + ".join([f"count(*) * {required}", *(f"count({quote(c)})" for c in optional)])
    rows = con.execute(
        f"SELECT date_trunc('month', day)::DATE AS month, sum(n), sum(n), 0, 0, sum(linked), sum(n) * {len(cols)}, "
        f"sum(filled) FROM (SELECT {day} AS day, count(*) AS n, {person} AS linked, {filled} AS filled "
        f"FROM {quote(table.name)} WHERE rowid > {after} GROUP BY 1) GROUP BY 1 ORDER BY 1 NULLS LAST").fetchall()
    _insert(con, report, table, rows)


def _insert(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, rows: list[tuple]) -> None:
    for month, offered_rows, loaded, quarantined, unlinked, linked_rows, expected, filled in rows:
        late = con.execute("SELECT date_diff('day', last_day(?::DATE), current_date)", [month]).fetchone()[0] \
            if month is not None else None
        values = {"load_id": report.load_id, "source": report.source or report.format, "table_name": table.name,
                  "month": month.isoformat()[:10] if month is not None else None, "rows": int(offered_rows),
                  "rows_loaded": int(loaded), "rows_quarantined": int(quarantined), "rows_unlinked": int(unlinked),
                  "rows_linked": int(linked_rows), "cells_expected": int(expected), "cells_filled": int(filled),
                  "days_after_month_end": late}
        report.quality.append(values)
        con.execute("INSERT INTO load_quality (load_id, loaded_at, source, table_name, month, rows, rows_loaded, "
                    "rows_quarantined, rows_unlinked, rows_linked, cells_expected, cells_filled, "
                    "days_after_month_end) VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [values[k] for k in ("load_id", "source", "table_name", "month", "rows", "rows_loaded",
                                         "rows_quarantined", "rows_unlinked", "rows_linked", "cells_expected",
                                         "cells_filled", "days_after_month_end")])


# --- the report ------------------------------------------------------------------------------------------

COLUMNS = ("source", "table_name", "month", "loads", "rows", "rows_loaded", "rows_quarantined", "rows_unlinked",
           "validity", "completeness", "linkage_rate", "median_days_after_month_end")


def report(store: Store, load_id: str | None = None) -> dict[str, Any]:
    """The figures by source, table and month (of one load, or of every load in the store), and the reasons
    rows were quarantined, counted."""
    con = store.con
    where = f"WHERE load_id = {literal(load_id)}" if load_id else ""
    if load_id and not con.execute(f"SELECT count(*) FROM load_quality {where}").fetchone()[0]:
        from icsys.dataset.store import StoreError

        raise StoreError(f"{store.location}: no load {load_id!r} with data-quality figures (see load_log)")
    rows = con.execute(f"""
        SELECT source, table_name, strftime(month, '%Y-%m') AS month, count(DISTINCT load_id) AS loads,
               sum(rows)::BIGINT, sum(rows_loaded)::BIGINT, sum(rows_quarantined)::BIGINT, sum(rows_unlinked)::BIGINT,
               round(sum(rows_loaded) / NULLIF(sum(rows_loaded) + sum(rows_quarantined), 0), 4),
               round(sum(cells_filled) / NULLIF(sum(cells_expected), 0), 4),
               round(sum(rows_linked) / NULLIF(sum(rows_linked) + sum(rows_unlinked), 0), 4),
               median(days_after_month_end)
        FROM load_quality {where} GROUP BY ALL ORDER BY source, table_name, month NULLS LAST""").fetchall()
    reasons = con.execute(f"""
        SELECT table_name, regexp_replace(trim(reason), '''[^'']*''', '''…''', 'g') AS reason, count(*)
        FROM (SELECT table_name, unnest(string_split(reasons, '; ')) AS reason FROM quarantine {where})
        GROUP BY ALL ORDER BY 3 DESC, 1, 2""").fetchall()
    return {"store": store.location, "load_id": load_id,
            "by_month": [dict(zip(COLUMNS, (*r[:11], float(r[11]) if r[11] is not None else None), strict=True))
                         for r in rows],
            "quarantined": [{"table_name": t, "reason": why, "rows": int(n)} for t, why, n in reasons]}


def write(figures: dict[str, Any], out: Path) -> list[Path]:
    """FOLDER/data_quality.csv, .json and .html."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "data_quality.csv", out / "data_quality.json", out / "data_quality.html"]
    with paths[0].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(figures["by_month"])
    paths[1].write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    paths[2].write_text(render_html(figures), encoding="utf-8")
    return paths


def _cell(value: Any, share: bool) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if share else html.escape(f"{value:,}" if isinstance(value, int) else str(value))


def render_html(figures: dict[str, Any]) -> str:
    shares = {"validity", "completeness", "linkage_rate"}
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r[c], c in shares)}</td>" for c in COLUMNS) + "</tr>"
                   for r in figures["by_month"])
    reasons = "".join(f"<tr><td>{html.escape(q['table_name'])}</td><td>{html.escape(q['reason'])}</td>"
                      f"<td>{q['rows']:,}</td></tr>" for q in figures["quarantined"]) or \
        "<tr><td colspan='3'>No row was quarantined.</td></tr>"
    scope = f"load {figures['load_id']}" if figures["load_id"] else "every load"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality: {html.escape(scope)}</title>
<style>body{{font-family:Arial,sans-serif;margin:2em;color:#212b32}}table{{border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #d8dde0;padding:4px 8px;text-align:right}}th{{background:#005eb8;color:#fff}}
td:first-child,td:nth-child(2){{text-align:left}}</style></head><body>
<h1>Data quality of {html.escape(figures['store'])} ({html.escape(scope)})</h1>
<p>By source, table and month of activity. <b>Validity</b>: rows loaded of those loaded or quarantined as invalid.
<b>Completeness</b>: cells with a value, of the schema's cells in the rows loaded. <b>Linkage rate</b>: rows linked
to a person, of those linked or not linked. <b>Timeliness</b>: median days from the end of the month to its load.
No row of anyone's data is on this page: it can be shared with the data provider.</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>What was quarantined, and why</h2>
<table><thead><tr><th>table</th><th>reason (values shown as …)</th><th>rows</th></tr></thead>
<tbody>{reasons}</tbody></table></body></html>
"""
