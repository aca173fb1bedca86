"""Schema-driven validation, done set-wise in DuckDB so a file of millions of rows is checked in
seconds. Every rule comes from `icsys.dataset.schema`; each problem names the row, field and reason.

A file is first staged with every column as text (so a bad value can be reported, not lost in a
failed cast); one SELECT then builds, per row, the list of its problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from icsys.dataset.schema import TABLES, Column, Table
from icsys.system import System

STAGE = "_icsys_stage"
CHECKED = "_icsys_checked"
SQL_CAST = {"int": "BIGINT", "float": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP", "bool": "BOOLEAN"}
TYPE_WORDS = {"int": "a whole number", "float": "a number", "date": "a date (YYYY-MM-DD)",
              "timestamp": "a date and time (YYYY-MM-DD HH:MM:SS)", "bool": "true or false"}
# NHS numbers: issued ranges 400-499 and 600-799 million; 900-999 million is never issued to patients
# (999 is NHS England's test range) and holds test and synthetic data.
NHS_NUMBER_RANGES = ((4_000_000_000, 4_999_999_999), (6_000_000_000, 7_999_999_999),
                     (9_000_000_000, 9_999_999_999))


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # data row (1 = first row after the header); None for the whole file
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return f"{self.file}: {where}: {self.field}: {self.reason}"


class FileProblem(ValueError):
    """The file as a whole cannot be loaded (unreadable, empty, wrong columns)."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[str]:
    """Read `path` into the staging table, every column as text plus `_row`; return its columns."""
    source = (f"read_csv({literal(str(path))}, all_varchar = true, header = true, auto_detect = true)"
              if fmt == "csv" else f"read_parquet({literal(str(path))})")
    return stage_source(con, source, f"{path}: cannot be read as {fmt.upper()}")


def stage_source(con: duckdb.DuckDBPyConnection, source: str, cannot: str) -> list[str]:
    """The rows of the DuckDB table expression `source` as the staging table, every column as text plus
    `_row` (the row of the file); its columns. A read that fails is a FileProblem starting `cannot`."""
    con.execute(f"DROP TABLE IF EXISTS {STAGE}")
    try:
        columns = [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        text = ", ".join(f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}" for c in columns)
        con.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT {text} FROM {source}")
    except duckdb.Error as exc:
        raise FileProblem(f"{cannot}: {str(exc).splitlines()[0]}") from exc
    con.execute(f"ALTER TABLE {STAGE} ADD COLUMN _row BIGINT")
    # rowid follows the file's order (insertion order is kept); temporary tables start it at an offset.
    con.execute(f"UPDATE {STAGE} SET _row = rowid - (SELECT min(rowid) FROM {STAGE}) + 1")
    return columns


def check_columns(table: Table, columns: list[str], file: str) -> None:
    """Every required column present, none unknown: otherwise the file is refused whole."""
    missing = [c.name for c in table.columns if c.required and c.name not in columns]
    unknown = [c for c in columns if c not in table.column_names]
    problems = []
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) for table {table.name}: {', '.join(unknown)}")
    if problems:
        raise FileProblem(f"{file}: " + "; ".join(problems) + f" (expected: {', '.join(table.column_names)})")


def _value(col: str) -> str:
    return f"NULLIF(trim(s.{quote(col)}), '')"


def typed(column: Column, prefix: str = "s.") -> str:
    """The SQL that turns the staged text into the column's type (NULL where it cannot)."""
    raw = f"NULLIF(trim({prefix}{quote(column.name)}), '')"
    if column.type == "string":
        return raw
    if column.type == "timestamp":
        return f"coalesce(TRY_CAST({raw} AS TIMESTAMP), TRY_CAST(TRY_CAST({raw} AS DATE) AS TIMESTAMP))"
    return f"TRY_CAST({raw} AS {SQL_CAST[column.type]})"


def row_checks(table: Table, present: list[str], system: System, store_tables: set[str],
               field_names: dict[str, str] | None = None,
               handled: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """SQL expressions, each giving one problem text or NULL, for every rule of every column present (except
    the columns an adapter checks itself, in its source's terms: `handled`)."""
    names = field_names or {}
    checks: list[str] = []
    for col in table.columns:
        if col.name not in present or col.name in handled:
            continue
        label = literal(names.get(col.name, col.name) + ": ")
        value = _value(col.name)
        shown = f"'''' || {value} || ''''"
        if col.required:
            checks.append(f"CASE WHEN {value} IS NULL THEN {label} || 'missing required value' END")
        if col.type != "string":
            checks.append(f"CASE WHEN {value} IS NOT NULL AND {typed(col)} IS NULL THEN {label} || {shown} || "
                          f"' is not {TYPE_WORDS[col.type]}' END")
        checks += _value_rules(col, label, value, shown, system)
        if col.references and not col.references.startswith("system:"):
            checks += _table_reference(table, col, label, value, shown, store_tables)
    for earlier, later in table.in_order:
        if earlier in present and later in present:
            a, b = typed(table.column(earlier)), typed(table.column(later))
            checks.append(f"CASE WHEN {a} > {b} THEN {literal(names.get(later, later) + ': ')} || 'is before ' || "
                          f"{literal(names.get(earlier, earlier))} END")
    return checks


def _value_rules(col: Column, label: str, value: str, shown: str, system: System) -> list[str]:
    out = []
    if col.codes:
        allowed = ", ".join(literal(c) for c in col.codes)
        out.append(f"CASE WHEN {value} NOT IN ({allowed}) THEN {label} || {shown} || ' is not a known code "
                   f"(allowed: {', '.join(col.codes)[:200].replace(chr(39), '')})' END")
    if col.pattern:
        out.append(f"CASE WHEN NOT regexp_matches({value}, {literal(col.pattern)}) THEN {label} || {shown} || "
                   f"' does not have the expected form' END")
    num = f"TRY_CAST({value} AS DOUBLE)"
    if col.minimum is not None:
        out.append(f"CASE WHEN {num} < {col.minimum} THEN {label} || {shown} || ' is below {col.minimum:g}' END")
    if col.maximum is not None:
        out.append(f"CASE WHEN {num} > {col.maximum} THEN {label} || {shown} || ' is above {col.maximum:g}' END")
    if col.check == "nhs_number":
        out.append(f"CASE WHEN regexp_matches({value}, '^[0-9]{{10}}$') AND NOT ({nhs_number_valid(value)}) THEN "
                   f"{label} || {shown} || ' fails the NHS number check digit or is outside the NHS number "
                   f"ranges' END")
    if col.check == "first_of_month":
        out.append(f"CASE WHEN day(TRY_CAST({value} AS DATE)) <> 1 THEN {label} || {shown} || "
                   f"' is not the first of a month (birth dates are held as the month only)' END")
    if col.references and col.references.startswith("system:"):
        kind = col.references.split(":", 1)[1]
        codes = [item.code for item in getattr(system, kind)]
        # a code of the right form outside the system is kept (and flagged on load), not refused
        elsewhere = f" AND NOT regexp_matches({value}, {literal(col.outside)})" if col.outside else ""
        nor = f", nor the ODS code of one outside it (pattern {col.outside})" if col.outside else ""
        out.append(f"CASE WHEN {value} NOT IN ({', '.join(literal(c) for c in codes)}){elsewhere} THEN {label} || "
                   f"{shown} || ' is not a {kind.replace('_', ' ')} of {system.ics.name}{nor}' END")
    return out


def nhs_number_valid(value: str) -> str:
    """SQL: the modulus 11 check digit of a 10-digit NHS number is right and it is in a known range."""
    total = " + ".join(f"CAST(substr({value}, {i}, 1) AS INTEGER) * {11 - i}" for i in range(1, 10))
    check = f"(11 - ({total}) % 11) % 11"
    ranges = " OR ".join(f"CAST({value} AS BIGINT) BETWEEN {lo} AND {hi}" for lo, hi in NHS_NUMBER_RANGES)
    return f"{check} = CAST(substr({value}, 10, 1) AS INTEGER) AND ({ranges})"


def _table_reference(table: Table, col: Column, label: str, value: str, shown: str,
                     store_tables: set[str]) -> list[str]:
    ref_table, ref_col = col.references.split(".")  # type: ignore[union-attr]
    key = f"TRY_CAST({value} AS BIGINT)"
    sources = []
    if ref_table in store_tables:
        sources.append(f"SELECT 1 FROM {quote(ref_table)} r WHERE r.{quote(ref_col)} = {key}")
    if ref_table == table.name:
        sources.append(f"SELECT 1 FROM {STAGE} r WHERE TRY_CAST(r.{quote(ref_col)} AS BIGINT) = {key}")
    exists = " OR ".join(f"EXISTS ({q})" for q in sources) or "FALSE"
    return [f"CASE WHEN {key} IS NOT NULL AND NOT ({exists}) THEN {label} || {shown} || ' does not match any "
            f"{ref_table}.{ref_col}' END"]


def key_checks(table: Table, present: list[str], store_tables: set[str], field_names: dict[str, str] | None) -> str:
    """Duplicate primary keys, within the file and against rows already in the store."""
    pk = table.primary_key
    if pk not in present:
        return "NULL"
    label = literal((field_names or {}).get(pk, pk) + ": ")
    key = f"TRY_CAST({_value(pk)} AS BIGINT)"
    in_store = (f" WHEN EXISTS (SELECT 1 FROM {quote(table.name)} t WHERE t.{quote(pk)} = {key}) THEN {label} || "
                f"'''' || {_value(pk)} || ''' is already in the store'" if table.name in store_tables else "")
    return (f"CASE WHEN count(*) OVER (PARTITION BY {key}) > 1 AND {key} IS NOT NULL THEN {label} || '''' || "
            f"{_value(pk)} || ''' appears more than once in the file'{in_store} END")


def check_staged(con: duckdb.DuckDBPyConnection, table: Table, present: list[str], system: System,
                 field_names: dict[str, str] | None = None, extra_checks: list[str] | tuple[str, ...] = (),
                 handled: frozenset[str] | set[str] = frozenset()) -> int:
    """Build the checked table (_row, problems); return how many rows have a problem. An adapter adds its own
    checks (`extra_checks`, SQL giving a problem text or NULL) for the columns it `handled`."""
    store_tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    checks = [*extra_checks, *row_checks(table, present, system, store_tables & set(TABLES), field_names, handled),
              key_checks(table, present, store_tables & set(TABLES), field_names)]
    con.execute(f"DROP TABLE IF EXISTS {CHECKED}")
    con.execute(f"CREATE TEMP TABLE {CHECKED} AS SELECT s._row, list_filter([{', '.join(checks)}], x -> x IS NOT "
                f"NULL) AS problems FROM {STAGE} s")
    return con.execute(f"SELECT count(*) FROM {CHECKED} WHERE len(problems) > 0").fetchone()[0]


def problems(con: duckdb.DuckDBPyConnection, file: str, limit: int) -> list[Problem]:
    rows = con.execute(f"SELECT _row, unnest(problems) FROM {CHECKED} WHERE len(problems) > 0 ORDER BY _row "
                       f"LIMIT {limit}").fetchall()
    out = []
    for row, text in rows:
        field, _, reason = text.partition(": ")
        out.append(Problem(file, int(row), field, reason))
    return out


# --- the fast path: a clean file is read once, typed and checked as it is read ---------------------------

def file_columns(con: duckdb.DuckDBPyConnection, path: Path, fmt: str) -> list[str]:
    """The column names of a CSV header or Parquet schema, without reading the data."""
    source = (f"read_csv({literal(str(path))}, all_varchar = true, header = true)" if fmt == "csv"
              else f"read_parquet({literal(str(path))})")
    try:
        return [d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
    except duckdb.Error as exc:
        raise FileProblem(f"{path}: cannot be read as {fmt.upper()}: {str(exc).splitlines()[0]}") from exc


def insert_typed(con: duckdb.DuckDBPyConnection, table: Table, path: Path, fmt: str, columns: list[str],
                 system: System) -> tuple[int, int] | None:
    """Append the file straight into its table, read in the schema's types, every rule of the schema but the
    primary key's (`keys_hold`, once the rows are in) checked on each row as it is read; return the rowid the
    new rows start after (-1 for an empty table) and how many there are. None, reading nothing, if a table
    the rows refer to is not in the store. Raises duckdb.Error if a value does not fit its type or a row
    breaks a rule; the caller rolls back and takes the slow path, which names them (no detail here)."""
    store_tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    refers = _references(table, columns)
    if any(ref_table not in store_tables for _, ref_table, _ in refers):
        return None
    after = con.execute(f"SELECT coalesce(max(rowid), -1) FROM {quote(table.name)}").fetchone()[0]
    if fmt == "csv":
        types = "{" + ", ".join(f"{literal(c)}: {literal(table.column(c).sql_type)}" for c in columns) + "}"
        source = f"read_csv({literal(str(path))}, header = true, auto_detect = false, columns = {types})"
        select = ", ".join(quote(c) for c in columns)
    else:
        source = f"read_parquet({literal(str(path))})"
        select = ", ".join(f"CAST({quote(c)} AS {table.column(c).sql_type}) AS {quote(c)}" for c in columns)
    # The rules are checked in the same parallel pass that reads the file: rows a transaction has not committed
    # are scanned by one thread only, so every pass over them after the insert costs twice the time.
    rules = typed_rules(table, columns, system) + [
        f"(t.{quote(col)} IS NULL OR t.{quote(col)} IN (SELECT {quote(ref_col)} FROM {quote(ref_table)}))"
        for col, ref_table, ref_col in refers if ref_table != table.name]
    holds = f"CASE WHEN {' AND '.join(rules) or 'TRUE'} THEN TRUE ELSE error('a row breaks a rule of the schema') END"
    # Row order does not matter here (new rows are found by rowid), and letting DuckDB insert out of
    # order makes the bulk insert a third faster; the slow path turns order back on for row numbers.
    con.execute("SET preserve_insertion_order = false")
    try:
        inserted = con.execute(f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                               f"SELECT t.* FROM (SELECT {select} FROM {source}) t WHERE {holds}").fetchone()[0]
    finally:
        con.execute("SET preserve_insertion_order = true")
    return int(after), int(inserted)


def _references(table: Table, present: list[str]) -> list[tuple[str, str, str]]:
    """(column, table, column) of each column present that refers to a table of the store."""
    return [(col.name, *col.references.split(".")) for col in table.columns  # type: ignore[misc, union-attr]
            if col.name in present and col.references and not col.references.startswith("system:")]


def typed_rules(table: Table, present: list[str], system: System) -> list[str]:
    """SQL predicates on the typed columns of a row `t`, each true where the row keeps a rule of the schema: every
    rule of every column present but the primary key's and the references to tables."""
    rules = []
    for col in table.columns:
        if col.name not in present:
            continue
        c = f"t.{quote(col.name)}"
        if col.required:
            rules.append(f"{c} IS NOT NULL")
        if col.codes:
            rules.append(f"coalesce({c} IN ({', '.join(literal(k) for k in col.codes)}), TRUE)")
        if col.pattern:
            rules.append(f"coalesce(regexp_matches({c}, {literal(col.pattern)}), TRUE)")
        if col.minimum is not None:
            rules.append(f"coalesce({c} >= {col.minimum}, TRUE)")
        if col.maximum is not None:
            rules.append(f"coalesce({c} <= {col.maximum}, TRUE)")
        if col.check == "nhs_number":
            rules.append(f"coalesce(regexp_matches({c}, '^[0-9]{{10}}$') AND {nhs_number_valid(c)}, TRUE)")
        if col.check == "first_of_month":
            rules.append(f"coalesce(day({c}) = 1, TRUE)")
        if col.references and col.references.startswith("system:"):
            codes = [item.code for item in getattr(system, col.references.split(":", 1)[1])]
            # a code outside the system needs the form of one; the form is only matched when the code is not
            # one of the system's (OR would match it on every row)
            elsewhere = f"regexp_matches({c}, {literal(col.outside)})" if col.outside else "FALSE"
            rules.append(f"coalesce(CASE WHEN {c} IN ({', '.join(literal(k) for k in codes)}) THEN TRUE "
                         f"ELSE {elsewhere} END, TRUE)")
    for earlier, later in table.in_order:
        if earlier in present and later in present:
            rules.append(f"coalesce(t.{quote(earlier)} <= t.{quote(later)}, TRUE)")
    return rules


# Whole-number keys are told apart with a bitmap of their range (far cheaper than counting them distinct)
# unless it would take more than this many bits a key.
BITMAP_BITS_PER_KEY = 64


def keys_hold(con: duckdb.DuckDBPyConnection, table: Table, present: list[str], after: int) -> bool:
    """No primary key twice in the table (old and new rows together), and no row appended after rowid `after`
    refers to a row of its own table that is not there."""
    pk = quote(table.primary_key)
    rows, keys, low, high = con.execute(f"SELECT count(*), count({pk}), min({pk}), max({pk}) "
                                        f"FROM {quote(table.name)}").fetchone()
    if rows != keys:  # an empty key
        return False
    whole = table.column(table.primary_key).type == "int"
    if rows and whole and high - low + 1 <= BITMAP_BITS_PER_KEY * rows:  # one bit a key of the range, set once each
        distinct = con.execute(f"SELECT bit_count(bitstring_agg({pk}, {low}, {high})) "
                               f"FROM {quote(table.name)}").fetchone()[0]
    else:
        distinct = con.execute(f"SELECT count(DISTINCT {pk}) FROM {quote(table.name)}").fetchone()[0]
    if distinct != rows:
        return False
    new = f"(SELECT * FROM {quote(table.name)} WHERE rowid > {after})"
    for col, ref_table, ref_col in _references(table, present):
        if ref_table == table.name and con.execute(
                f"SELECT count(*) FROM {new} t ANTI JOIN {quote(ref_table)} r ON r.{quote(ref_col)} = t.{quote(col)} "
                f"WHERE t.{quote(col)} IS NOT NULL").fetchone()[0]:
            return False
    return True
