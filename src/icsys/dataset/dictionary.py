"""The data dictionary, written from the schema so it can never drift from what is loaded."""

from __future__ import annotations

from icsys.dataset.adapters import mapping
from icsys.dataset.schema import DERIVED_TABLES, TABLES, Column, Table

HEADER = """# Data dictionary

The linked dataset of icsys: one row per person in `person`, every setting of care joined on
`person_id`. This page is generated from `src/icsys/dataset/schema.py` by `icsys dictionary`;
edit the schema, not this page. Loading (`icsys load`) enforces every rule listed here.

Rules: **required** columns must have a value; **codes** lists the allowed values; **pattern**
is a regular expression a text value must match; **references** must resolve to a row of the
named table or an organisation of the system definition (`system:<kind>`), except that a code
of the form given for one outside the system is kept and flagged (activity at providers outside
the ICS, people registered outside it: docs/adr/010); **in order** pairs
of dates must not run backwards where both are present.
"""


def render() -> str:
    parts = [HEADER, "## Tables\n"]
    parts += [f"- [`{t.name}`](#{t.name.replace('_', '-')}): {t.description}" for t in TABLES.values()]
    parts += ["", "Derived tables, which icsys writes beside the dataset (never loaded from files):", ""]
    parts += [f"- [`{t.name}`](#{t.name.replace('_', '-')}): {t.description}" for t in DERIVED_TABLES.values()]
    parts += ["", *(_table(t) for t in TABLES.values()), *(_table(t) for t in DERIVED_TABLES.values())]
    parts.append(mapping.render())  # the extract formats, from their mapping files
    return "\n".join(parts).rstrip() + "\n"


def _table(table: Table) -> str:
    lines = [f"## {table.name}", "", table.description, "",
             f"One row per {table.grain or 'record'}; primary key `{table.primary_key}`."
             + (f" Source: {table.source}." if table.source else "")
             + (f" Written by `{table.derived_by}`." if table.derived_by else ""), ""]
    if table.in_order:
        lines += ["In order: " + "; ".join(f"`{a}` ≤ `{b}`" for a, b in table.in_order), ""]
    lines += ["| column | type | required | description | rules |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | {c.description} | {_rules(c)} |"
              for c in table.columns]
    codes = [c for c in table.columns if c.codes]
    for col in codes:
        lines += ["", f"**`{col.name}` codes:** " + "; ".join(f"`{k}` {v}" for k, v in col.codes.items())]
    return "\n".join(lines) + "\n"


def _rules(col: Column) -> str:
    rules = []
    if col.codes:
        rules.append(f"codes ({len(col.codes)}, below)")
    if col.pattern:
        escaped = col.pattern.replace("|", r"\|")  # a bare | would split the Markdown table cell
        rules.append(f"pattern `{escaped}`")
    if col.minimum is not None:
        rules.append(f"≥ {col.minimum:g}")
    if col.maximum is not None:
        rules.append(f"≤ {col.maximum:g}")
    if col.references:
        rules.append(f"references `{col.references}`" + (f", or outside it `{col.outside}` (kept, flagged)"
                                                          if col.outside else ""))
    if col.check == "nhs_number":
        rules.append("NHS number modulus 11 check digit")
    if col.check == "first_of_month":
        rules.append("first day of a month")
    return ", ".join(rules)
