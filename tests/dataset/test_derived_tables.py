"""Every table icsys derives is declared once in the schema: what its writers create has exactly the
declared columns and types, and the data dictionary lists it with its writer."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from icsys.dataset.dictionary import render
from icsys.dataset.schema import ALL_TABLES, DERIVED_TABLES, TABLES
from support import icsys


@pytest.fixture(scope="module")
def derived_store(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("derived") / "km.duckdb"
    shutil.copy(fixture_store, db)
    icsys("population", "stratify", "--db", db, "--as-of", "2026-03-31", check=True)
    icsys("performance", "escalation", "--db", db, "--from", "2026-03-01", "--to", "2026-03-31", check=True)
    return db


def _columns(db: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [(name, kind) for name, kind, *_ in con.execute(f'DESCRIBE "{table}"').fetchall()]


@pytest.mark.parametrize("name", sorted(DERIVED_TABLES))
def test_written_as_declared(derived_store: Path, name: str) -> None:
    declared = [(c.name, c.sql_type) for c in DERIVED_TABLES[name].columns]
    assert _columns(derived_store, name) == declared


def test_dataset_and_derived_tables_apart() -> None:
    assert not set(TABLES) & set(DERIVED_TABLES)
    assert all(t.derived_by for t in DERIVED_TABLES.values())
    assert not any(t.derived_by for t in TABLES.values())
    assert list(ALL_TABLES) == [*TABLES, *DERIVED_TABLES]


def test_dictionary_lists_derived_tables_with_their_writer() -> None:
    text = render()
    for table in DERIVED_TABLES.values():
        assert f"## {table.name}\n" in text
        assert f"Written by `{table.derived_by}`." in text
    assert "| `efi2_category` | string |" in text


def test_info_and_export_know_derived_tables(derived_store: Path, tmp_path: Path) -> None:
    from support import icsys_json

    info = icsys_json("info", "--db", derived_store, "--json")
    with duckdb.connect(str(derived_store), read_only=True) as con:
        people = con.execute("SELECT count(*) FROM person_measures").fetchone()[0]
    assert info["derived"]["person_measures"]["rows"] == people > 0
    assert "person_measures" not in info["tables"]
    out = tmp_path / "measures.parquet"
    icsys("export", "--db", derived_store, "--table", "person_measures", "--out", out, check=True)
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*) FROM '{out}'").fetchone()[0] == people
