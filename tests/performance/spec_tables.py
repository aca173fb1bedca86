"""Tiny stores for spec tests, drawn as text tables (in the manner of OpenSAFELY ehrQL's spec tests).

    ae_attendance = '''
      person_id | site_code | department_type | arrival_time     | departure_time
      1         | RPA02     | 1               | 2025-03-01 10:00 | 2025-03-01 14:00
    '''

Values are read by the column's type in the dataset schema; an empty cell is missing. People that a
table names but the person table does not are added, registered at G82100 since 2000.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from icsys.dataset.schema import TABLES
from icsys.dataset.store import append, open_store

DEFAULT_PERSON = {"sex": "F", "birth_date": date(1950, 1, 1), "practice_code": "G82100",
                  "registration_start": date(2000, 1, 1), "nhs_number": "9434765919", "ethnicity": "A"}


def parse(table: str, text: str) -> list[dict[str, Any]]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    names = [c.strip() for c in lines[0].split("|")]
    rows = []
    for line in lines[1:]:
        cells = [c.strip() for c in line.split("|")]
        rows.append({n: _value(table, n, c) for n, c in zip(names, cells, strict=True)})
    return rows


def _value(table: str, name: str, cell: str) -> Any:
    if cell == "":
        return None
    kind = TABLES[table].column(name).type
    if kind == "int":
        return int(cell)
    if kind == "float":
        return float(cell)
    if kind == "bool":
        return cell.lower() in ("true", "t", "yes", "1")
    if kind == "date":
        return date.fromisoformat(cell)
    if kind == "timestamp":
        return datetime.fromisoformat(cell)
    return cell


def build(tmp_path: Path, **tables: str) -> Path:
    """A store holding the drawn tables; primary keys are numbered where a table leaves them out."""
    db = tmp_path / "spec.duckdb"
    con = open_store(db)
    parsed = {name: parse(name, text) for name, text in tables.items()}
    people = {r["person_id"]: r for r in parsed.pop("person", [])}
    for rows in parsed.values():
        for r in rows:
            people.setdefault(r["person_id"], {"person_id": r["person_id"]})
    append(con, "person", pa.Table.from_pylist([DEFAULT_PERSON | p for p in people.values()]))
    for name, rows in parsed.items():
        key = TABLES[name].primary_key
        rows = [({key: i + 1} | r) if key not in r else r for i, r in enumerate(rows)]
        append(con, name, pa.Table.from_pylist(rows))
    con.close()
    return db


# --- the engines a spec runs on ------------------------------------------------------------------------

ENGINES = ("duckdb", "spark")


class OnSpark:
    """Measures a spec store on a local Spark session through a Spark Store: its tables (every schema table,
    empty or not, and icsys_meta) written as a folder of Parquet, as `icsys export --all` writes them, and
    the same Ibis rules run on them."""

    def __init__(self, spark: Any) -> None:
        self.spark, self.loaded, self.store = spark, None, None

    def measure(self, db: Path, **asked: Any) -> Any:
        from icsys.dataset.store import Store
        from icsys.performance.measure import measure_store

        if self.loaded != db:
            self.store, self.loaded = Store.spark(self.spark, parquet_tables(db)), db
        return measure_store(self.store, **asked)


def parquet_tables(db: Path) -> Path:
    """Every table of the DuckDB store `db` as FOLDER/NAME.parquet beside it."""
    import duckdb

    folder = db.with_name(db.stem + "_tables")
    folder.mkdir(exist_ok=True)
    with duckdb.connect(str(db), read_only=True) as con:
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            con.execute(f"COPY \"{name}\" TO '{folder / (name + '.parquet')}' (FORMAT parquet)")
    return folder


def measure_on(engine: str | OnSpark, db: Path, **asked: Any) -> Any:
    """measure_store's rows for a spec store, on DuckDB (the store itself) or on Spark."""
    from icsys.dataset.store import Store
    from icsys.performance.measure import measure_store

    if engine != "duckdb":
        return engine.measure(db, **asked)  # type: ignore[union-attr]
    with Store.open(db) as store:
        return measure_store(store, **asked)
