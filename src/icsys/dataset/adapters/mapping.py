"""Extract layouts as data: each file in `mappings/` says how one source format (HES APC, ECDS, GP data...)
becomes rows of one dataset table, so a new layout is a TOML file, not code.

A layout names its table, the source's person keys in order of preference (each with its kind for the
linkage: nhs_number, pseudo_hesid or token), the dates the source uses for "null" (HES: 1800-01-01 and
1801-01-01), and for each dataset column the source field(s) it comes from, tried in turn:

    site_code = [{ field = "SITETRET" }, { field = "PROCODE5" }]          # the first that has a value
    admission_time = { field = "ADMIDATE", time = "ADMITIME" }            # a date and a time of day
    departure_time = { field = "DEPDUR", minutes_after = "arrival_time" } # a duration in minutes
    admission_method = { field = "ADMIMETH", values = "ADMIMETH" }        # a coded field, with its value set
    spell_id = { generated = true }                                       # numbered on load
    commissioned_by_ics = { field = "RESLADST_ONS", in_system = "district" }  # true if one of the system's

`missing = ["&"]` lists codes the source writes for "not known" (the next alternative is then tried).
A value set `[values.NAME]` lists every code of the source's data dictionary with its meaning (`codes`),
and `to` the dataset code each becomes where that differs (a column may give its own `to`). A code that
is not in the set is reported in the source's terms: the field, the code as written, the source's codes.
`[spells]` assembles episodes into spells (HES APC): see `extract.assemble_spells`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from icsys.dataset.schema import TABLES

MAPPINGS = Path(__file__).parent / "mappings"
KEY_KINDS = ("nhs_number", "pseudo_hesid", "token")


@dataclass(frozen=True)
class ValueSet:
    name: str
    label: str
    codes: dict[str, str]  # source code -> meaning
    to: dict[str, str]  # source code -> dataset code, where it differs ("" = no value)
    pad: int = 0  # numeric codes written without their leading zero ("1" for "01") are read padded

    def allowed(self) -> str:
        return ", ".join(f"{code} {meaning}" for code, meaning in self.codes.items())


@dataclass(frozen=True)
class Source:
    """One way to fill a column: a source field and how to read it."""

    field: str | None = None
    time: str | None = None
    minutes_after: str | None = None
    missing: tuple[str, ...] = ()
    value: str | None = None  # a constant
    generated: bool = False
    in_system: str | None = None  # true when the field's code is one of the system's organisations of this kind


@dataclass(frozen=True)
class ColumnMap:
    column: str
    sources: tuple[Source, ...]
    values: ValueSet | None = None
    to: dict[str, str] = field(default_factory=dict)

    def dataset_code(self, code: str) -> str:
        if code in self.to:
            return self.to[code]
        return self.values.to.get(code, code) if self.values else code

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for s in self.sources for f in (s.field, s.time) if f)


@dataclass(frozen=True)
class Spells:
    key: tuple[str, ...]  # the source's spell identifier (e.g. PROVSPNOPS)
    fallback: tuple[str, ...]  # else person key + these fields (provider, admission date)
    order: tuple[str, ...]  # episode order within the spell
    last: tuple[str, ...]  # columns taken from the last episode (all others from the first)


@dataclass(frozen=True)
class ExtractFormat:
    format: str
    title: str
    table: str
    dictionary: str
    person: tuple[tuple[str, str], ...]  # (field, kind), in order of preference
    columns: dict[str, ColumnMap]
    null_dates: tuple[str, ...] = ()
    spells: Spells | None = None
    grain: str = "record"

    @property
    def person_fields(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.person)


def _source(spec: dict[str, Any]) -> Source:
    return Source(field=spec.get("field"), time=spec.get("time"), minutes_after=spec.get("minutes_after"),
                  missing=tuple(spec.get("missing", ())), value=spec.get("value"),
                  generated=bool(spec.get("generated", False)), in_system=spec.get("in_system"))


def _value_set(name: str, spec: dict[str, Any]) -> ValueSet:
    return ValueSet(name, spec.get("label", name), {str(k): str(v) for k, v in spec["codes"].items()},
                    {str(k): str(v) for k, v in spec.get("to", {}).items()}, int(spec.get("pad", 0)))


def parse(text: str, origin: str) -> ExtractFormat:
    """An extract layout from its TOML text; a layout that does not fit the schema is refused with its reason."""
    spec = tomllib.loads(text)
    table = TABLES.get(spec.get("table", ""))
    if table is None:
        raise ValueError(f"{origin}: table {spec.get('table')!r} is not a table of the dataset")
    values = {name: _value_set(name, v) for name, v in spec.get("values", {}).items()}
    columns: dict[str, ColumnMap] = {}
    for name, col in spec.get("columns", {}).items():
        if name not in table.column_names:
            raise ValueError(f"{origin}: column {name!r} is not a column of {table.name}")
        alternatives = col if isinstance(col, list) else [col]
        coded = next((a["values"] for a in alternatives if "values" in a), None)
        if coded and coded not in values:
            raise ValueError(f"{origin}: column {name}: no value set [values.{coded}]")
        to = {str(k): str(v) for a in alternatives for k, v in a.get("to", {}).items()}
        columns[name] = ColumnMap(name, tuple(_source(a) for a in alternatives), values.get(coded) if coded else None,
                                  to)
    person = tuple((p["field"], p["kind"]) for p in spec.get("person", ()))
    for _, kind in person:
        if kind not in KEY_KINDS:
            raise ValueError(f"{origin}: person key kind {kind!r}; use one of {', '.join(KEY_KINDS)}")
    spells = spec.get("spells")
    return ExtractFormat(
        spec["format"], spec.get("title", spec["format"]), table.name, spec.get("dictionary", ""), person, columns,
        tuple(spec.get("null_dates", ())),
        Spells(tuple(spells["key"]), tuple(spells["fallback"]), tuple(spells["order"]), tuple(spells["last"]))
        if spells else None, spec.get("grain", "record"))


@cache
def formats() -> dict[str, ExtractFormat]:
    """Every extract layout shipped in mappings/, by format name."""
    found = {}
    for path in sorted(MAPPINGS.glob("*.toml")):
        layout = parse(path.read_text(encoding="utf-8"), str(path.name))
        found[layout.format] = layout
    return found


def recognise(fields: list[str]) -> str | None:
    """The one extract layout whose person key and required fields a file's header has (the one using most of
    its fields if several do), or None."""
    have = set(fields)
    scores = {}
    for fmt in formats().values():
        table = TABLES[fmt.table]
        fillable = all(any(s.generated or s.value is not None or s.field in have for s in col.sources)
                       for col in fmt.columns.values() if table.column(col.column).required)
        if fillable and have & set(fmt.person_fields):
            scores[fmt.format] = len(have & {f for col in fmt.columns.values() for f in col.fields})
    best = sorted(scores.items(), key=lambda kv: -kv[1])
    return best[0][0] if best and (len(best) == 1 or best[0][1] > best[1][1]) else None


def render() -> str:
    """The data dictionary's section on extract formats, written from the mapping files."""
    parts = ["## Extract formats", "",
             "`icsys load FILE --format NAME` reads an extract in its source's own layout. Each layout is a file in "
             "`src/icsys/dataset/adapters/mappings/`: the source field each column comes from (alternatives in "
             "turn), the person keys, and every code of the source's value sets with its meaning and the dataset "
             "code it becomes. Files may be CSV, pipe- or tab-delimited text or Parquet; plain, gzip or Zstandard "
             "compressed; UTF-8, Windows-1252 or Latin-1; CRLF or LF line endings.", ""]
    parts += [f"- [`{f.format}`](#format-{f.format}): {f.title} → `{f.table}`" for f in formats().values()]
    for fmt in formats().values():
        parts += ["", f"### Format {fmt.format}", "", f"{fmt.title}. Into `{fmt.table}`, one row per {fmt.grain}."
                  + (f" Source: {fmt.dictionary}." if fmt.dictionary else ""), ""]
        parts.append("Person key (first present): " + ", ".join(f"`{f}` ({k})" for f, k in fmt.person) + ".")
        if fmt.null_dates:
            parts.append(f"Dates {', '.join(fmt.null_dates)} are the source's null dates: read as missing, "
                         "with a warning.")
        if fmt.spells:
            s = fmt.spells
            parts.append(f"Episodes are assembled into spells by {' or '.join(f'`{k}`' for k in s.key)} (else the "
                         f"person key with {', '.join(f'`{k}`' for k in s.fallback)}), in order of "
                         f"{', '.join(f'`{k}`' for k in s.order)}; {', '.join(f'`{c}`' for c in s.last)} come from "
                         "the last episode, every other column from the first.")
        parts += ["", "| column | from | codes |", "| --- | --- | --- |"]
        for col in fmt.columns.values():
            parts.append(f"| `{col.column}` | {_from(col)} | {f'`{col.values.name}`' if col.values else ''} |")
        for vs in {c.values.name: c.values for c in fmt.columns.values() if c.values}.values():
            shown = "; ".join(f"`{k}` {v}" + (f" → `{vs.to[k] or '(none)'}`" if k in vs.to else "")
                              for k, v in vs.codes.items())
            parts += ["", f"**`{vs.name}`** ({vs.label}): {shown}"]
    return "\n".join(parts) + "\n"


def _from(col: ColumnMap) -> str:
    out = []
    for s in col.sources:
        if s.generated:
            out.append("numbered on load")
        elif s.value is not None:
            out.append(f"always `{s.value}`")
        elif s.minutes_after:
            out.append(f"`{s.minutes_after}` + `{s.field}` minutes")
        elif s.in_system:
            out.append(f"`{s.field}` is a {s.in_system.replace('_', ' ')} of the system")
        else:
            out.append(f"`{s.field}`" + (f" + `{s.time}`" if s.time else "")
                       + (f" (not {', '.join(f'`{m}`' for m in s.missing)})" if s.missing else ""))
    return ", else ".join(out)
