"""Staging a file's rows and loading the valid ones: the steps every format shares (CSV and Parquet here, HES
and FHIR through their adapters), inside the transaction `ingest.load` opens. What was loaded, rejected and
why is gathered in a `LoadReport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from icsys.dataset import validate
from icsys.dataset.schema import Table
from icsys.dataset.store import QUARANTINE_TABLE
from icsys.dataset.validate import CHECKED, STAGE, Problem, quote, typed
from icsys.system import System

REPORT_LIMIT = 1000  # problems kept in a report; the count is always complete


@dataclass
class LoadReport:
    load_id: str
    file: str
    format: str
    loaded: dict[str, int] = field(default_factory=dict)  # table -> rows loaded
    rows_rejected: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    strict: bool = True
    source: str = ""  # the source of the rows (a person key belongs to one)
    link_mode: str = ""  # known, create or apart (docs/adr/010)
    rows_linked: int = 0
    rows_unlinked: int = 0  # kept apart (--link apart) or refused (--link known)
    rows_opted_out: int = 0  # not loaded: the person is on the National Data Opt-out list
    people_created: int = 0
    rows_replaced: int = 0  # rows of earlier loads a refresh superseded
    rows_outside_provider: int = 0  # loaded, at a provider outside the ICS (provider_in_ics false)
    rows_not_commissioned: int = 0  # loaded, another ICB's to commission by Who Pays? (commissioned_by_ics false)
    replaced_months: dict[str, list[str]] = field(default_factory=dict)  # table -> months restated
    quality: list[dict] = field(default_factory=list)  # the load's data-quality figures by table and month

    def to_text(self, limit: int = 50) -> str:
        lines = []
        if self.rows_rejected and self.strict:
            lines.append(f"{self.file}: rejected: {self.rows_rejected:,} invalid row(s), nothing loaded")
        for table, rows in self.loaded.items():
            lines.append(f"{self.file}: loaded {rows:,} row(s) into {table} (load {self.load_id})")
        if self.rows_rejected and not self.strict:
            lines.append(f"{self.file}: {self.rows_rejected:,} invalid row(s) kept in {QUARANTINE_TABLE} "
                         f"with their reasons (load {self.load_id})")
        if self.people_created:
            lines.append(f"{self.file}: {self.people_created:,} new people created (--link create)")
        if self.rows_unlinked and self.link_mode == "apart":
            lines.append(f"{self.file}: {self.rows_unlinked:,} row(s) not linked to a person, kept apart in "
                         f"unlinked_record (load {self.load_id})")
        if self.rows_opted_out:
            lines.append(f"{self.file}: {self.rows_opted_out:,} row(s) not loaded: National Data Opt-out")
        if self.rows_outside_provider or self.rows_not_commissioned:
            lines.append(f"{self.file}: kept and flagged: {self.rows_outside_provider:,} row(s) at providers outside "
                         f"the ICS (provider_in_ics false), {self.rows_not_commissioned:,} another ICB's to commission "
                         "by the Who Pays? rules (commissioned_by_ics false)")
        for table, months in self.replaced_months.items():
            lines.append(f"{self.file}: refresh: {self.rows_replaced:,} row(s) of {table} superseded "
                         f"({', '.join(months) or 'no month'})")
        lines += self._quality_text()
        lines += [str(p) for p in self.problems[:limit]]
        if self.problem_count > limit:
            lines.append(f"... and {self.problem_count - limit:,} more problem(s)")
        return "\n".join(lines)

    def _quality_text(self) -> list[str]:
        """One line of the load's data quality (the detail: icsys data-quality --load ID)."""
        if not self.quality:
            return []
        total = {k: sum(q[k] for q in self.quality) for k in ("rows_loaded", "rows_quarantined", "rows_unlinked",
                                                              "rows_linked", "cells_expected", "cells_filled")}
        share = lambda a, b: f"{a / b:.1%}" if b else "—"  # noqa: E731
        return [f"{self.file}: data quality over {len(self.quality)} month(s): validity "
                f"{share(total['rows_loaded'], total['rows_loaded'] + total['rows_quarantined'])}, completeness "
                f"{share(total['cells_filled'], total['cells_expected'])}, linkage "
                f"{share(total['rows_linked'], total['rows_linked'] + total['rows_unlinked'])} "
                f"(icsys data-quality --load {self.load_id})"]

    def to_json(self) -> str:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return json.dumps(data, indent=2)


# Columns a CSV or Parquet file may carry instead of person_id: the source's person key and its kind.
PERSON_KEYS = {"nhs_number": "nhs_number", "pseudo_hesid": "pseudo_hesid", "person_token": "token"}


def person_key(table: Table, columns: list[str]) -> tuple[str, str] | None:
    """The file's person key column and its kind, if it carries one (else person_id is the pseudonym)."""
    if "person_id" not in table.column_names:
        return None
    for column, kind in PERSON_KEYS.items():
        if column in columns:
            return column, kind
    return None


def load_table_file(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, file: Path, fmt: str,
                    system: System, allow_rejects: bool, link: str | None = None, source: str | None = None,
                    refresh: bool = False) -> None:
    """A CSV or Parquet file of one table. A clean file keyed by person_id takes the fast path (read once
    into its types, checked with set-wise predicates); a file with a person key to link, a refresh, or any
    doubt goes down the slow path, which links, supersedes and names each problem."""
    from icsys.dataset import linkage, quality

    columns = validate.file_columns(con, file, fmt)
    key = person_key(table, columns)
    report.source = source or f"{fmt}:{table.name}"
    kept = [c for c in columns if key is None or c != key[0] or c in table.column_names]
    checked = kept if key is None else [*dict.fromkeys([*kept, "person_id"])]
    validate.check_columns(table, checked, str(file))
    if key is None and not refresh and table.name != "person":
        try:
            typed = validate.insert_typed(con, table, file, fmt, columns, system)
            if typed is not None and validate.keys_hold(con, table, columns, typed[0]):
                after, report.loaded[table.name] = typed
                quality.record_fast(con, report, table, after)
                return
        except duckdb.Error:
            pass  # a value that does not fit its type, or breaks a rule: the slow path will name it
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
    columns = validate.stage_file(con, file, fmt)
    quality.offered(con, table)
    if key is not None:
        linkage.link_people(con, report, STAGE, key[0], key[1], report.source, link or _default_link(table),
                            system, people=table.name == "person", table_name=table.name)
        columns = checked
    quality.linked(con)
    supersede(con, report, table, refresh)
    load_staged(con, report, table, [c for c in columns if key is None or c != "nhs_number"], system, allow_rejects)
    quality.record_staged(con, report, table)


def _default_link(table: Table) -> str:
    """People are created from the registration extract (the person table); activity links to known people."""
    return "create" if table.name == "person" else "known"


def supersede(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, refresh: bool,
              by_key: bool = True) -> None:
    """A refresh restates whole months: every stored row of the table in a month the staged rows cover is
    superseded (listed in load_replaced, then removed), as are stored rows whose key a staged row restates
    (`by_key`: the file's keys are the source's own, not numbered on load), so the restated rows replace them
    instead of being refused as duplicates, and rows the refresh omits do not linger beside it. A person row
    that carries only its pseudonym (made by --link create) is always filled in by the person's registration."""
    pk = table.primary_key
    if pk not in table.column_names:
        return
    staged_key = f"(SELECT TRY_CAST(NULLIF(trim({quote(pk)}), '') AS BIGINT) FROM {STAGE})"
    if table.name == "person":
        con.execute(f"DELETE FROM person WHERE person_id IN {staged_key} AND birth_date IS NULL AND sex IS NULL")
    if not refresh:
        return
    from icsys.dataset.quality import activity_date, month_of

    when = activity_date(table)
    month = f"date_trunc('month', {quote(when)})::DATE" if when else "NULL::DATE"
    restated = [f"{quote(pk)} IN {staged_key}"] if by_key else []
    if when:
        restated.append(f"{month} IN (SELECT DISTINCT {month_of(table)} FROM {STAGE})")
    if not restated:
        return
    where = " OR ".join(restated)
    rows = con.execute(
        f"INSERT INTO load_replaced (load_id, table_name, row_key, month) SELECT {validate.literal(report.load_id)}, "
        f"{validate.literal(table.name)}, CAST({quote(pk)} AS VARCHAR), {month} FROM {quote(table.name)} "
        f"WHERE {where}").fetchone()[0]
    if rows:
        con.execute(f"DELETE FROM {quote(table.name)} WHERE {where}")
    months = con.execute(f"SELECT DISTINCT strftime(month, '%Y-%m') FROM load_replaced WHERE load_id = "
                         f"{validate.literal(report.load_id)} AND table_name = {validate.literal(table.name)} "
                         "AND month IS NOT NULL ORDER BY 1").fetchall()
    report.rows_replaced += int(rows)
    report.replaced_months[table.name] = [m[0] for m in months]


def load_staged(con: duckdb.DuckDBPyConnection, report: LoadReport, table: Table, present: list[str], system: System,
                allow_rejects: bool, field_names: dict[str, str] | None = None,
                record: Callable[[], str] | None = None, extra_checks: list[str] | tuple[str, ...] = (),
                handled: frozenset[str] | set[str] = frozenset()) -> None:
    """Check the staged rows; insert the valid ones (only if there are no invalid ones, unless
    allow_rejects) and quarantine the invalid ones verbatim. An adapter's own checks: see check_staged."""
    bad = validate.check_staged(con, table, present, system, field_names, extra_checks, handled)
    if bad:
        report.rows_rejected += bad
        report.problem_count += con.execute(f"SELECT sum(len(problems)) FROM {CHECKED}").fetchone()[0]
        report.problems += validate.problems(con, report.file, REPORT_LIMIT - len(report.problems))
        if not allow_rejects:
            return
    cols = [c for c in table.column_names if c in present]
    values = ", ".join(typed(table.column(c)) for c in cols)
    inserted = con.execute(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) SELECT {values} FROM {STAGE} s "
        f"JOIN {CHECKED} c USING (_row) WHERE len(c.problems) = 0").fetchone()[0]
    report.loaded[table.name] = report.loaded.get(table.name, 0) + int(inserted)
    if bad:
        raw = record() if record else "json_object(" + ", ".join(
            f"{validate.literal(c)}, s.{quote(c)}" for c in present) + ")"
        con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} SELECT {validate.literal(report.load_id)}, now()::TIMESTAMP, "
            f"{validate.literal(table.name)}, {validate.literal(report.file)}, s._row, "
            f"array_to_string(c.problems, '; '), {raw}::VARCHAR FROM {STAGE} s JOIN {CHECKED} c USING (_row) "
            f"WHERE len(c.problems) > 0")
