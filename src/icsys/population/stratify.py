"""`icsys population stratify`: one row per registered person of measures, written as the table
`person_measures` beside the dataset (the dataset itself is only read)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from icsys.dataset.store import StoreError
from icsys.population import measures

RESULT_TABLE = "person_measures"


def person_measures(backend: Any, as_of: date) -> Any:
    """The Ibis expression of person_measures on `backend` (DuckDB or Spark)."""
    person = backend.table("person")
    events = backend.table("clinical_event")
    medication = backend.table("medication")
    people = measures.registered(person, as_of)
    ltc = measures.long_term_conditions(people, events, as_of)
    frailty = measures.efi(people, events, medication, as_of)
    flags = measures.case_finding(people, events, medication, ltc, as_of)
    segment = measures.segments(people, events, backend.table("inpatient_spell"), frailty, ltc, as_of)
    base = people.select("person_id", "practice_code", "sex", "birth_date", "imd_decile")
    return (base.join(frailty, "person_id").join(ltc, "person_id").join(segment, "person_id")
            .join(flags, "person_id")
            .mutate(as_of=ibis_date(as_of)).order_by("person_id"))


def ibis_date(value: date) -> Any:
    import ibis

    return ibis.literal(value)


def stratify(db: Path, as_of: date) -> int:
    """Compute and store person_measures; return how many people it covers."""
    import ibis

    db = Path(db)
    if not db.exists():
        raise StoreError(f"{db}: no such store (build one with `icsys synth` or `icsys load`)")
    backend = ibis.duckdb.connect(str(db))
    try:
        expr = person_measures(backend, as_of)
        backend.create_table(RESULT_TABLE, expr, overwrite=True)
        return int(backend.table(RESULT_TABLE).count().execute())
    finally:
        backend.disconnect()
