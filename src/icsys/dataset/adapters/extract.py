"""Loading an extract in its source's own layout (see `mapping`): read it as it comes (`reading`), map each
source field to its dataset column in one set-wise SELECT, assemble episodes into spells where the layout
says so, link each row's person key through the linkage, and validate and load like any file, every
problem named in the source's own terms (its field, the code as written, the source's codes)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from icsys.dataset.adapters import reading
from icsys.dataset.adapters.mapping import ColumnMap, ExtractFormat, Source, formats
from icsys.dataset.linkage import link_people
from icsys.dataset.schema import TABLES, Table
from icsys.dataset.staging import LoadReport, load_staged, supersede
from icsys.dataset.validate import STAGE, FileProblem, Problem, literal, quote
from icsys.system import System

MAPPED = "_icsys_mapped"
RAW = "_icsys_raw"
KEY = "_person_key"


def _text(field: str, present: set[str], missing: tuple[str, ...] = ()) -> str:
    if field not in present:
        return "NULL"
    v = f"NULLIF(trim(s.{quote(field)}), '')"
    return f"CASE WHEN {v} IN ({', '.join(literal(m) for m in missing)}) THEN NULL ELSE {v} END" if missing else v


def _date(v: str, null_dates: tuple[str, ...], time: str | None = None) -> str:
    """A date as YYYY-MM-DD, with the time of day after it if `time` (SQL) is given; also read from YYYYMMDD
    and DD/MM/YYYY. The source's null dates are missing; anything else is passed on as written, so validation
    names it. A CASE, so each row takes only the branch it needs (ISO dates, the usual, first)."""
    other = f"TRY_CAST(coalesce(TRY_STRPTIME({v}, '%Y%m%d'), TRY_STRPTIME({v}, '%d/%m/%Y')) AS DATE)"
    after = f" || ' ' || {time}" if time else ""
    nulls = f"WHEN left({v}, 10) IN ({', '.join(literal(d) for d in null_dates)}) THEN NULL " if null_dates else ""
    return (f"CASE WHEN {v} IS NULL THEN NULL {nulls}WHEN TRY_CAST({v} AS DATE) IS NOT NULL THEN "
            f"CAST(TRY_CAST({v} AS DATE) AS VARCHAR){after} WHEN {other} IS NOT NULL THEN CAST({other} AS VARCHAR)"
            f"{after} ELSE {v} END")


def _time(t: str) -> str:
    """A time of day as HH:MM:SS, from HHMM, HHMMSS, HH:MM or HH:MM:SS, or from a date and time whose time is
    the part wanted (NHS England's CSDS and MHSDS models hold Contact_Time as a timestamp of 1 January 1970);
    midnight when absent. (Lengths, not regular expressions: this runs on every row; a time that is not one
    is passed on for validation to name.)"""
    t = f"(CASE WHEN length({t}) > 10 AND substr({t}, 11, 1) IN (' ', 'T') THEN substr({t}, 12) ELSE {t} END)"
    return (f"CASE WHEN {t} IS NULL THEN '00:00:00' WHEN contains({t}, ':') THEN "
            f"CASE WHEN length({t}) <= 5 THEN lpad({t}, 5, '0') || ':00' ELSE {t} END "
            f"WHEN length({t}) = 4 THEN substr({t}, 1, 2) || ':' || substr({t}, 3, 2) || ':00' "
            f"WHEN length({t}) = 6 THEN substr({t}, 1, 2) || ':' || substr({t}, 3, 2) || ':' || substr({t}, 5, 2) "
            f"ELSE {t} END")


class _Builder:
    """The SQL of one layout over one file's fields."""

    def __init__(self, fmt: ExtractFormat, table: Table, present: set[str], system: System) -> None:
        self.fmt, self.table, self.present, self.system = fmt, table, present, system

    def alternative(self, col: ColumnMap, src: Source) -> str:
        if src.value is not None:
            return literal(src.value)
        if src.minutes_after:
            if src.field not in self.present:
                return "NULL"
            base = self.column(self.fmt.columns[src.minutes_after])
            return (f"CAST(TRY_CAST({base} AS TIMESTAMP) + to_minutes(TRY_CAST({_text(src.field, self.present)} AS "
                    "BIGINT)) AS VARCHAR)")
        v = _text(src.field or "", self.present, src.missing)
        if src.in_system and v != "NULL":
            codes = ", ".join(literal(o.code) for o in getattr(self.system, src.in_system))
            return f"CASE WHEN {v} IS NULL THEN NULL WHEN {v} IN ({codes}) THEN 'true' ELSE 'false' END"
        kind = self.table.column(col.column).type
        if kind not in ("date", "timestamp") or v == "NULL":
            return v
        return _date(v, self.fmt.null_dates, _time(_text(src.time, self.present)) if src.time else None)

    def raw(self, col: ColumnMap) -> str:
        alternatives = [self.alternative(col, s) for s in col.sources if not s.generated]
        alternatives = [a for a in alternatives if a != "NULL"] or ["NULL"]
        return alternatives[0] if len(alternatives) == 1 else f"coalesce({', '.join(alternatives)})"

    def column(self, col: ColumnMap) -> str:
        raw = self.raw(col)
        if not col.values:
            return raw
        code = _normal(raw, col.values.pad)
        cases = " ".join(f"WHEN {literal(k)} THEN {literal(col.dataset_code(k)) if col.dataset_code(k) else 'NULL'}"
                         for k in col.values.codes if col.dataset_code(k) != k)
        return f"CASE {code} {cases} ELSE {code} END" if cases else code

    def label(self, col: ColumnMap) -> str:
        """The source field a column's problems are reported against: the first the file has."""
        for f in col.fields:
            if f in self.present:
                return f
        return col.fields[0] if col.fields else col.column


def _normal(raw: str, pad: int) -> str:
    return f"CASE WHEN regexp_matches({raw}, '^[0-9]+$') THEN lpad({raw}, {pad}, '0') ELSE {raw} END" if pad else raw


def load_extract(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt_name: str, file: Path, system: System,
                 allow_rejects: bool, link: str = "known", source: str | None = None, refresh: bool = False) -> None:
    fmt = formats()[fmt_name]
    table = TABLES[fmt.table]
    fields, layout = reading.stage(con, file)
    present = set(fields)
    key_field, key_kind = _person_key(fmt, present, file)
    _check_fields(fmt, table, present, file, layout)
    b = _Builder(fmt, table, present, system)
    _warn_null_dates(con, report, fmt, table, present)
    selects = ["s._row", f"{_text(key_field, present)} AS {KEY}"]
    for col in fmt.columns.values():
        if not any(s.generated for s in col.sources):
            selects.append(f"CAST({b.column(col)} AS VARCHAR) AS {quote(col.column)}")
        if col.values:
            selects.append(f"{b.raw(col)} AS {quote('_raw_' + col.column)}")
    if fmt.spells:
        for i, f in enumerate(fmt.spells.order):  # typed once here, so the assembly sorts plain values
            v = _text(f, present)
            selects += [f"TRY_CAST({v} AS BIGINT) AS _order_{i}n", f"TRY_CAST({v} AS DATE) AS _order_{i}d",
                        f"{v} AS _order_{i}t"]
        selects.append(f"{_spell_key(fmt, present, key_field)} AS _spell")
    con.execute(f"CREATE TEMP TABLE {MAPPED} AS SELECT {', '.join(selects)} FROM {STAGE} s")
    con.execute(f"DROP TABLE IF EXISTS {RAW}")
    con.execute(f"ALTER TABLE {STAGE} RENAME TO {RAW}")  # kept for the quarantine's verbatim records
    if fmt.spells:
        _assemble_spells(con, fmt)
    con.execute(f"ALTER TABLE {MAPPED} RENAME TO {STAGE}")
    _number(con, fmt, table)
    link_people(con, report, STAGE, KEY, key_kind, source or fmt.format, link, system, label=key_field)
    # a refresh replaces the months the extract covers (its keys, where numbered on load, restate nothing)
    supersede(con, report, table, refresh, by_key=not any(s.generated for c in fmt.columns.values()
                                                           for s in c.sources if c.column == table.primary_key))
    labels = {c.column: b.label(c) for c in fmt.columns.values()} | {"person_id": key_field}
    load_staged(con, report, table, [c for c in table.column_names if c in fmt.columns or c == "person_id"], system,
                allow_rejects, field_names=labels, record=lambda: _record(fmt, fields),
                extra_checks=_source_checks(fmt, labels), handled={"person_id", *_coded(fmt)})
    con.execute(f"DROP TABLE IF EXISTS {RAW}")


def _record(fmt: ExtractFormat, fields: list[str]) -> str:
    """SQL for a rejected row's record as the source wrote it (for a spell: its first episode, and its episodes'
    rows), built only for the rows quarantined."""
    raw = ("(SELECT json_object(" + ", ".join(f"{literal(c)}, r.{quote(c)}" for c in fields)
           + f") FROM {RAW} r WHERE r._row = s._row)")
    if not fmt.spells:
        return raw
    return f"json_object('episodes', s._episodes, 'episode_rows', s._episode_rows, 'first_episode', {raw})"


def _coded(fmt: ExtractFormat) -> list[str]:
    return [c.column for c in fmt.columns.values() if c.values]


def _person_key(fmt: ExtractFormat, present: set[str], file: Path) -> tuple[str, str]:
    for field, kind in fmt.person:
        if field in present:
            return field, kind
    raise FileProblem(f"{file}: not a {fmt.format} extract ({fmt.title}): no person key; it needs one of the fields "
                      f"{', '.join(fmt.person_fields)}")


def _check_fields(fmt: ExtractFormat, table: Table, present: set[str], file: Path, layout: reading.Layout) -> None:
    """Every required column can be filled from a field the file has; else the file is refused whole."""
    missing = []
    for col in fmt.columns.values():
        needed = table.column(col.column).required
        fillable = any(s.generated or s.value is not None or s.field in present for s in col.sources)
        if needed and not fillable:
            missing.append(" or ".join(s.field for s in col.sources if s.field))
    if missing:
        raise FileProblem(f"{file}: not a {fmt.format} extract ({fmt.title}; read as {layout.describe()}): missing "
                          f"field(s) {', '.join(missing)}")


def _warn_null_dates(con: duckdb.DuckDBPyConnection, report: LoadReport, fmt: ExtractFormat, table: Table,
                     present: set[str]) -> None:
    """The source's null dates are read as missing; say how many there were, field by field."""
    if not fmt.null_dates:
        return
    dated = {s.field for c in fmt.columns.values() if table.column(c.column).type in ("date", "timestamp")
             for s in c.sources if s.field in present and not s.minutes_after}
    nulls = ", ".join(literal(d) for d in fmt.null_dates)
    for field in sorted(dated):
        found = con.execute(f"SELECT count(*), min(_row) FROM {STAGE} WHERE left(trim({quote(field)}), 10) IN "
                            f"({nulls})").fetchone()
        if found[0]:
            report.problems.append(Problem(report.file, None, field, f"warning: {found[0]:,} value(s) "
                                           f"{' or '.join(fmt.null_dates)} (the source's null or invalid date) read "
                                           f"as missing, first at row {found[1]}"))


def _spell_key(fmt: ExtractFormat, present: set[str], key_field: str) -> str:
    """The source's own spell identifier, else the person key with the fallback fields (provider, admission)."""
    assert fmt.spells
    own = [_text(k, present) for k in fmt.spells.key if k in present]
    parts = [_text(key_field, present), *(_text(f, present) for f in fmt.spells.fallback if f in present)]
    return f"coalesce({', '.join([*own, 'concat_ws(' + literal('|') + ', ' + ', '.join(parts) + ')'])})"


def _assemble_spells(con: duckdb.DuckDBPyConnection, fmt: ExtractFormat) -> None:
    """Episodes into spells: one row per spell key, the episodes in order (EPIORDER, then start, then key);
    the `last` columns from the last episode, all others (admission method...) from the first. The spell
    keeps the file row of its first episode, for messages, and the episodes' rows in its record. Each
    episode is ranked once in its spell (the last is the one whose rank is the count); first and last are joined."""
    assert fmt.spells
    order = ", ".join(f"_order_{i}n NULLS LAST, _order_{i}d NULLS LAST, _order_{i}t"
                      for i in range(len(fmt.spells.order))) + ", _row"
    cols = [r[0] for r in con.execute(f"DESCRIBE {MAPPED}").fetchall()]
    keep = [c for c in cols if not c.startswith("_order_") and c not in ("_row", "_spell")]
    ordering = ", ".join(c for c in cols if c.startswith("_order_"))
    con.execute(f"CREATE TEMP TABLE _icsys_ranked AS SELECT * EXCLUDE ({ordering}), "
                f"row_number() OVER (PARTITION BY _spell ORDER BY {order}) AS _first, "
                f"count(*) OVER (PARTITION BY _spell) AS _episodes FROM {MAPPED}")
    picks = ", ".join(f"{'l' if c.removeprefix('_raw_') in fmt.spells.last else 'f'}.{quote(c)}" for c in keep)
    many = ("(SELECT _spell, list(_row ORDER BY _first) AS rows FROM _icsys_ranked WHERE _episodes > 1 "
            "GROUP BY _spell)")
    con.execute(f"DROP TABLE {MAPPED}")
    con.execute(f"CREATE TEMP TABLE {MAPPED} AS SELECT f._row, {picks}, f._episodes, "
                f"coalesce(m.rows, [f._row]) AS _episode_rows "
                f"FROM _icsys_ranked f JOIN _icsys_ranked l ON l._spell = f._spell AND l._first = l._episodes "
                f"LEFT JOIN {many} m ON m._spell = f._spell WHERE f._first = 1 ORDER BY f._row")
    con.execute("DROP TABLE _icsys_ranked")


def _number(con: duckdb.DuckDBPyConnection, fmt: ExtractFormat, table: Table) -> None:
    """Generated keys (a spell has no number of its own in HES) continue from the store's highest, in file order."""
    generated = [c.column for c in fmt.columns.values() if any(s.generated for s in c.sources)]
    if not generated:
        return
    start = {c: int(con.execute(f"SELECT coalesce(max({quote(c)}), 0) FROM {quote(table.name)}").fetchone()[0])
             for c in generated}
    numbers = ", ".join(f"CAST({start[c]} + row_number() OVER (ORDER BY _row) AS VARCHAR) AS {quote(c)}"
                        for c in generated)
    con.execute(f"CREATE TEMP TABLE _icsys_numbered AS SELECT *, {numbers} FROM {STAGE} ORDER BY _row")
    con.execute(f"DROP TABLE {STAGE}")
    con.execute(f"ALTER TABLE _icsys_numbered RENAME TO {STAGE}")


def _source_checks(fmt: ExtractFormat, labels: dict[str, str]) -> list[str]:
    """The checks done in the source's terms: its codes, and the person key's link."""
    checks = []
    key = labels["person_id"]
    # linkage.link_people has refused, kept apart or created every row it could not link (and emptied NHS
    # numbers once used); a row without a person here would be a fault, still named in the source's terms
    checks.append(f"CASE WHEN s.person_id IS NULL THEN {literal(key + ': does not link to a person in the store')} END")
    for col in fmt.columns.values():
        if not col.values:
            continue
        raw = f"s.{quote('_raw_' + col.column)}"
        label = literal(labels[col.column] + ": ")
        required = TABLES[fmt.table].column(col.column).required
        codes = ", ".join(literal(k) for k in col.values.codes)
        allowed = literal(f" is not a code of {col.values.label} (codes: {col.values.allowed()[:400]})")
        missing = f"WHEN {raw} IS NULL THEN {label} || 'missing required value' " if required else ""
        not_held = [k for k in col.values.codes if not col.dataset_code(k)]
        empty = (f"WHEN {_normal(raw, col.values.pad)} IN ({', '.join(literal(k) for k in not_held)}) THEN {label} || "
                 f"'''' || {raw} || ''' (' || {_meaning(col, raw)} || ') gives no {col.column}, which is required' "
                 if required and not_held else "")
        checks.append(f"CASE {missing}WHEN {_normal(raw, col.values.pad)} NOT IN ({codes}) THEN {label} || '''' || "
                      f"{raw} || ''''  || {allowed} {empty}END")
    return checks


def _meaning(col: ColumnMap, raw: str) -> str:
    assert col.values
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in col.values.codes.items())
    return f"CASE {_normal(raw, col.values.pad)} {cases} END"
